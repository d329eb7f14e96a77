"""API keys never reach the logs (issue 15): not in access lines of HTTP, WebSocket and kiosk URLs, not in
tracebacks (which carry no local variables), in the console and the JSON format alike."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import httpx
import pytest
import structlog
from websockets.sync.client import connect

from shenggu.logs import REDACTED, configure_logging, redact_secrets
from tests.servers import free_port, wait_until_up

KEY = "sg_1a2b3c4d_Zx9-Qm_3kLpW7vYt0uRsEe2NbHcVfGj"
SECRET = KEY.removeprefix("sg_1a2b3c4d_")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('GET /v1/usage?api_key=<KEY> HTTP/1.1" 200', f'GET /v1/usage?api_key={REDACTED} HTTP/1.1" 200'),
        ("/kiosk?kb=faq&key=<KEY>&voice=x", f"/kiosk?kb=faq&key={REDACTED}&voice=x"),
        ("/v1/audio/stream?language=zh&API_KEY=<KEY>", f"/v1/audio/stream?language=zh&API_KEY={REDACTED}"),
        ("headers=[(b'authorization', b'Bearer <KEY>')]", f"headers=[(b'authorization', b'Bearer {REDACTED}')]"),
        ("authorization: bearer not-a-shenggu-key", f"authorization: bearer {REDACTED}"),
        ("invalid key <KEY> given", f"invalid key {REDACTED} given"),
        ('{"url": "/x?api_key=<KEY>"}', f'{{"url": "/x?api_key={REDACTED}"}}'),
        # Nothing else is touched.
        ("/v1/hotwords?monkey=1&keyboard=2", "/v1/hotwords?monkey=1&keyboard=2"),
        ("msg_sent=3 task_key=x", "msg_sent=3 task_key=x"),
    ],
)
def test_redact_secrets(line, expected):
    assert redact_secrets(line.replace("<KEY>", KEY)) == expected


@pytest.fixture
def log_output():
    """``configure(fmt)`` sets up the service's logging into a buffer; the previous setup is restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()

    def configure(fmt: str) -> io.StringIO:
        configure_logging("INFO", fmt)
        root.handlers[0].setStream(buffer)
        return buffer

    yield configure
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def _fail_with_a_key_in_a_local() -> None:
    headers = [(b"authorization", f"Bearer {KEY}".encode())]
    marker = "value-of-a-local-variable"
    raise RuntimeError(f"boom with {len(headers)} header and {len(marker)} characters")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_tracebacks_show_no_locals_and_no_keys(log_output, fmt):
    buffer = log_output(fmt)
    log = structlog.get_logger("tests.hardening")  # a fresh proxy: nothing cached beyond this test
    try:
        _fail_with_a_key_in_a_local()
    except RuntimeError:
        log.exception("unhandled error", authorization=f"Bearer {KEY}")
        # A stdlib logger's line (not uvicorn's own logger: an in-process server of an earlier test may have
        # given it handlers of its own; the served-requests test below covers uvicorn's lines in `shenggu serve`).
        logging.getLogger("tests.hardening.stdlib").exception("Exception in ASGI application")
    text = buffer.getvalue()
    assert SECRET not in text and "value-of-a-local-variable" not in text
    assert text.count("in _fail_with_a_key_in_a_local") == 2 and text.count("RuntimeError: boom with 1 header") == 2
    assert f"Bearer {REDACTED}" in text
    if fmt == "json":
        events = [json.loads(line) for line in text.splitlines()]
        assert [e["event"] for e in events] == ["unhandled error", "Exception in ASGI application"]
        assert all(e["exception"].startswith("Traceback (most recent call last)") for e in events)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["console", "json"])
def test_served_requests_never_log_keys(tmp_path, fmt):
    """``shenggu serve`` as deployed: uvicorn's access and WebSocket lines go through the same redaction."""
    env = {
        **os.environ,
        "SHENGGU_DATA_DIR": str(tmp_path / "data"),
        "SHENGGU_PRELOAD_MODELS": "false",
        "SHENGGU_JOB_WORKERS": "0",
        "SHENGGU_LOG_FORMAT": fmt,
        "SHENGGU_LOG_LEVEL": "INFO",
    }
    shenggu = [sys.executable, "-m", "shenggu"]
    created = subprocess.run(
        [*shenggu, "keys", "create", "--tenant", "kiosk"], env=env, capture_output=True, text=True, check=True
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen([*shenggu, "serve", "--port", str(port)], env=env, stdout=log_file, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, timeout=120)
        assert httpx.get(f"{base}/v1/usage?days=7&api_key={key}").status_code == 200
        assert httpx.get(f"{base}/kiosk?kb=faq&key={key}").status_code == 200
        assert httpx.get(f"{base}/v1/usage", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401
        for query in ("/v1/audio/stream?format=opus", "/v1/assistant?kb=nope"):
            with connect(f"ws://127.0.0.1:{port}{query}&api_key={key}", open_timeout=30) as ws:
                assert json.loads(ws.recv(timeout=30))["type"] == "error"
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log_path.read_text()
    assert key not in text and key.split("_", 2)[2] not in text and SECRET not in text
    for url in (
        f"/v1/usage?days=7&api_key={REDACTED}",
        f"/kiosk?kb=faq&key={REDACTED}",
        f"/v1/audio/stream?format=opus&api_key={REDACTED}",
        f"/v1/assistant?kb=nope&api_key={REDACTED}",
    ):
        assert url in text, text
    if fmt == "json":
        assert all(json.loads(line) for line in text.splitlines() if line.strip())
