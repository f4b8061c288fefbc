# otklik: one image, every stage; the command picks the stage (see deploy/docker-compose.yml).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OTKLIK_DATA_DIR=/var/lib/otklik \
    OTKLIK_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache -r requirements.lock
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
