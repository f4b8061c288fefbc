# otklik: one image, every stage; the command picks the stage (see deploy/docker-compose.yml).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OTKLIK_DATA_DIR=/var/lib/otklik \
    OTKLIK_HTTP_HOST=0.0.0.0
WORKDIR /app
# WeasyPrint (the plan/fact report as PDF) loads Pango, HarfBuzz and fontconfig at run time (its
# documented Debian packages for the wheel); a slim image has no fonts, so a serif and a sans with
# Cyrillic come along, or the PDF's text would be missing glyphs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
# The runtime lock: the versions of requirements.lock without the dev tools (tests, linters,
# browsers' drivers, matplotlib); `make lock` writes both.
COPY requirements-runtime.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache -r requirements-runtime.lock
COPY kernel ./kernel
COPY services ./services
COPY ingest ./ingest
COPY classifier ./classifier
COPY sla ./sla
RUN uv pip install --system --no-cache --no-deps . \
 && useradd --system --uid 10001 otklik && mkdir -p /var/lib/otklik && chown otklik /var/lib/otklik
USER otklik
EXPOSE 8080 9108
ENTRYPOINT ["otklik"]
CMD ["--help"]
