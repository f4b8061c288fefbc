"""Every uvicorn server otklik runs (services/web/serve.py `uvicorn_config`: the web, the intake,
the demo) leaves logging to the root's handlers, so uvicorn's records are redacted like all."""

import io
import logging
from collections.abc import Iterator
from unittest.mock import MagicMock

import pytest

from kernel.observability import configure_logging
from services.web.serve import uvicorn_config

SECRET = "vk1.a.s3cret-community-token"


UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """The root logging as otklik configures it, writing to a buffer; uvicorn's loggers as
    before any server was configured in this process (other tests run uvicorn too)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    loggers = {name: logging.getLogger(name) for name in UVICORN}
    saved_uvicorn = {n: (lg.handlers[:], lg.propagate, lg.level) for n, lg in loggers.items()}
    for logger in loggers.values():
        logger.handlers, logger.propagate = [], True
        logger.setLevel(logging.NOTSET)
    root.handlers = []
    configure_logging("INFO", [SECRET])
    output = io.StringIO()
    for handler in root.handlers:
        handler.setStream(output)  # type: ignore[attr-defined]
    yield output
    root.handlers, root.level = saved[0], saved[1]
    for name, (handlers, propagate, level) in saved_uvicorn.items():
        loggers[name].handlers, loggers[name].propagate = handlers, propagate
        loggers[name].setLevel(level)


def test_uvicorn_records_reach_the_root_and_its_redaction(root_output: io.StringIO) -> None:
    uvicorn_config(MagicMock(), "127.0.0.1", 0)
    for name in UVICORN:
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate, name
    logging.getLogger("uvicorn.error").error("cannot bind with token %s", SECRET)
    logging.getLogger("uvicorn.access").info('"GET /vk?access_token=%s HTTP/1.1" 200', SECRET)
    written = root_output.getvalue()
    assert "cannot bind" in written and "GET /vk" in written
    assert SECRET not in written
