"""What the web's public port shows besides the pages and the API: /docs and /redoc from local
assets (no CDN) or nothing with OTKLIK_API_DOCS=false, and no /metrics for `otklik web`, which
serves them on OTKLIK_METRICS_PORT (services/web/serve.py)."""

import re
from unittest.mock import MagicMock

import httpx
from fastapi import FastAPI

from ingest.domain.sources import SourceCatalog
from ingest.stage import http_app
from kernel.observability import Metrics
from kernel.settings import Settings
from services.web.app import create_app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def test_the_api_docs_load_nothing_from_another_site() -> None:
    async with client(create_app(MagicMock(), Settings())) as http:
        for page in ("/docs", "/redoc"):
            html = (await http.get(page)).text
            sources = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
            assert sources, page
            for source in sources:
                assert source.startswith("/"), (page, source)
                asset = await http.get(source)
                assert asset.status_code == 200 and len(asset.content) > 1000, source
            assert "https://" not in html.replace("https://github.com", ""), page
        assert (await http.get("/openapi.json")).json()["info"]["title"].startswith("otklik")


async def test_the_api_docs_can_be_switched_off() -> None:
    async with client(create_app(MagicMock(), Settings(api_docs=False))) as http:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/healthz")).status_code == 200


async def test_otklik_web_has_no_metrics_on_its_public_port() -> None:
    async with client(create_app(MagicMock(), Settings(), serve_metrics=False)) as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_the_intake_has_no_metrics_on_its_public_port() -> None:
    """`otklik ingest http` faces the internet through the city's proxy: its /metrics (source ids,
    dead-letter counts) are on OTKLIK_METRICS_PORT (services/ingest_http.py)."""
    app = http_app(Settings(), SourceCatalog(sources=()), MagicMock(), Metrics())
    async with client(app) as http:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
