"""Job callbacks: URL checks at submission, SSRF refusal at delivery (resolved, pinned address), and a delivery
loop that records every attempt so no job can hold up another tenant's callbacks. No speech model is loaded:
jobs are rows in a real SQLite database and deliveries go to small receivers on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shenggu.audio.decode import encode_wav
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.service import callbacks
from shenggu.service.app import create_app
from shenggu.service.callbacks import CallbackSender, DestinationPolicy, check_url, is_public, resolve
from shenggu.service.storage import jobs, tenants
from shenggu.service.storage.db import Database, default_url
from shenggu.service.storage.models import Job, utcnow
from shenggu.service.worker import WorkerPool, job_view
from tests.servers import free_port

BAD_URLS = {
    "http://[::1": "not a valid URL",
    "http://example.com/" + "a" * 3000: "longer than 2048",
    "ftp://x": "http:// or https://",
    "http://user:pass@example.com/": "user name or password",
    "http:///hook": "no host",
    "http://exa mple.com/": "invalid host",
    "http://example.com:99999/": "invalid port",
}
LOCAL_URLS = [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://[::1]:{port}/hook",
    "http://0x7f000001:{port}/hook",
    "http://2130706433:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
]


# --- the address rules, no network needed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "fec0::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "::7f00:1",
    ],
)
def test_non_public_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.fixture
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    """Host names answered from this dict (several addresses allowed); anything else goes to the real resolver,
    which is how IP literals and odd spellings like 0x7f000001 are turned into addresses."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in answers:
            return [info for address in answers[host] for info in real(address, port, *args, **kwargs)]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_resolve_refuses_a_host_if_any_of_its_addresses_is_not_public(fake_dns):
    fake_dns["hooks.example"] = ["93.184.216.34"]
    fake_dns["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    policy = DestinationPolicy()
    assert resolve(httpx.URL("https://hooks.example/cb"), policy) == "93.184.216.34"
    with pytest.raises(callbacks.RefusedDestination):
        resolve(httpx.URL("https://mixed.example/cb"), policy)


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "127.1", "localhost", "[::1]", "[::ffff:7f00:1]"])
def test_resolve_sees_through_odd_spellings_of_loopback(host):
    with pytest.raises(callbacks.RefusedDestination):
        resolve(httpx.URL(f"http://{host}:8080/"), DestinationPolicy())


def test_operator_allow_list_admits_named_hosts_and_networks(fake_dns):
    fake_dns["hooks.internal"] = ["10.0.0.7"]
    fake_dns["other.internal"] = ["10.0.0.8"]
    by_name = DestinationPolicy(allowed_hosts=["Hooks.Internal"])
    assert resolve(httpx.URL("http://hooks.internal/cb"), by_name) == "10.0.0.7"
    with pytest.raises(callbacks.RefusedDestination):
        resolve(httpx.URL("http://other.internal/cb"), by_name)
    by_network = DestinationPolicy(allowed_hosts=["10.0.0.8/29"])  # 10.0.0.8 to 10.0.0.15
    assert resolve(httpx.URL("http://other.internal/cb"), by_network) == "10.0.0.8"
    for outside in ("http://hooks.internal/cb", "http://127.0.0.1/cb"):
        with pytest.raises(callbacks.RefusedDestination):
            resolve(httpx.URL(outside), by_network)
    assert resolve(httpx.URL("http://127.0.0.1/cb"), DestinationPolicy(allow_private=True)) == "127.0.0.1"


def test_allowed_hosts_setting_is_comma_separated_and_checked(monkeypatch):
    monkeypatch.setenv("SHENGGU_CALLBACK_ALLOWED_HOSTS", " hooks.internal, 10.8.0.0/16 ,,")
    assert Settings(_env_file=None).callback_allowed_hosts == ["hooks.internal", "10.8.0.0/16"]
    monkeypatch.setenv("SHENGGU_CALLBACK_ALLOWED_HOSTS", "10.8.0.0/33")
    with pytest.raises(ValidationError, match=r"10\.8\.0\.0/33"):
        Settings(_env_file=None)


@pytest.mark.parametrize("url", BAD_URLS)
def test_check_url_names_the_problem_without_echoing_the_url(url):
    with pytest.raises(InvalidOptionError) as caught:
        check_url(url, DestinationPolicy(allow_private=True))
    assert BAD_URLS[url] in caught.value.message and len(caught.value.message) < 200


def test_pinned_request_goes_to_the_checked_address_with_the_name_in_host_and_sni(fake_dns):
    fake_dns["hooks.example"] = ["93.184.216.34"]
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async def send() -> str:
        async with CallbackSender(DestinationPolicy(), transport=httpx.MockTransport(answer)) as sender:
            return await sender.send("https://hooks.example:8443/cb?x=1", b"{}", "secret")

    assert asyncio.run(send()) == "delivered"
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/cb?x=1"
    assert request.headers["Host"] == "hooks.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.example"


# --- submission over HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def submit(tmp_path) -> Callable[..., httpx.Response]:
    """POST /v1/jobs with a short synthetic clip; workers are not started (no lifespan), jobs just queue."""

    def post(callback_url: str, **settings) -> httpx.Response:
        app = create_app(Settings(dev_mode=True, preload_models=False, data_dir=tmp_path / "data", **settings))
        wav = encode_wav(np.zeros(16000, dtype=np.float32))
        return TestClient(app).post(
            "/v1/jobs", files={"file": ("a.wav", wav, "audio/wav")}, data={"callback_url": callback_url}
        )

    return post


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_callback_url_is_400_and_leaves_no_upload(submit, tmp_path, url):
    response = submit(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_option" and BAD_URLS[url] in error["message"]
    assert len(response.content) < 500  # the 3000-character URL is not echoed back
    assert not list((tmp_path / "data" / "uploads").glob("*"))


@pytest.mark.parametrize("template", LOCAL_URLS)
def test_literal_local_callback_is_400_by_default(submit, template):
    response = submit(template.format(port=8080))
    assert response.status_code == 400 and "private" in response.json()["error"]["message"]


def test_operator_opt_in_accepts_local_callbacks(submit):
    assert submit("http://127.0.0.1:8080/hook", callback_allow_private=True).status_code == 202
    assert submit("http://10.1.2.3/hook", callback_allowed_hosts=["10.0.0.0/8"]).status_code == 202
    assert submit("http://hooks.example.com/hook").status_code == 202  # names are judged at delivery


# --- delivery ---------------------------------------------------------------------------------------------------


class Receiver:
    """A callback receiver on loopback: records each POST and answers ``status`` (after ``delay`` seconds)."""

    def __init__(self, status: int = 200, delay: float = 0.0, headers: dict | None = None) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                time.sleep(delay)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(default_url(tmp_path / "db"))
    database.migrate()
    return database


def finished_job(db: Database, tenant: str, url: str, waited: float = 0.0) -> str:
    """A succeeded job whose callback is due (``waited`` seconds ago), stored directly, as an old row would be."""
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, tenant).id
        job = jobs.create(session, tenant_id, "transcribe", {}, "/nonexistent", "0" * 64, "a.wav", url)
        job.status, job.result, job.finished_at = "succeeded", {"text": "ok"}, utcnow()
        job.callback_state, job.callback_next_at = "pending", utcnow() - dt.timedelta(seconds=waited)
        return job.id


def deliver(db: Database, **settings) -> int:
    """One round of the callback loop."""
    return asyncio.run(WorkerPool(db, Settings(**settings)).deliver_callbacks())


def callback_of(db: Database, job_id: str) -> dict:
    """The callback part of the job's public view."""
    with db.session() as session:
        return job_view(session.get(Job, job_id))["callback"]


def state_of(db: Database, job_id: str) -> tuple[str, int]:
    view = callback_of(db, job_id)
    return view["state"], view["attempts"]


def test_local_callbacks_are_refused_by_default_and_nothing_reaches_the_receiver(db, receiver, fake_dns):
    fake_dns["rebound.example"] = ["127.0.0.1"]  # a public-looking name whose DNS answer points back at us
    urls = [t.format(port=receiver.port) for t in LOCAL_URLS] + [f"http://rebound.example:{receiver.port}/hook"]
    ids = [finished_job(db, "alpha", url) for url in urls]
    assert deliver(db) == len(ids)  # up to 10 a round: all of them
    assert [state_of(db, job_id) for job_id in ids] == [("refused", 1)] * len(ids)
    assert receiver.requests == []
    assert deliver(db) == 0  # refused is final: never tried again


def test_refusal_does_not_tell_whether_a_port_answered(db, receiver):
    open_port = finished_job(db, "alpha", f"http://127.0.0.1:{receiver.port}/hook")
    closed_port = finished_job(db, "alpha", f"http://127.0.0.1:{free_port()}/hook")
    deliver(db)
    views = [callback_of(db, job_id) for job_id in (open_port, closed_port)]
    assert views[0].keys() == views[1].keys() == {"url", "state", "attempts"}
    assert [(v["state"], v["attempts"]) for v in views] == [("refused", 1)] * 2


def test_operator_opt_in_delivers_signed_callbacks(db, receiver, fake_dns):
    fake_dns["hooks.internal"] = ["127.0.0.1"]
    by_flag = finished_job(db, "alpha", f"http://127.0.0.1:{receiver.port}/hook")
    assert deliver(db, callback_allow_private=True) == 1
    by_name = finished_job(db, "alpha", f"http://hooks.internal:{receiver.port}/hook")
    assert deliver(db, callback_allowed_hosts=["hooks.internal"]) == 1
    assert callback_of(db, by_flag)["state"] == callback_of(db, by_name)["state"] == "delivered"
    headers, body = receiver.requests[1]
    assert headers["Host"] == f"hooks.internal:{receiver.port}"  # sent to the checked address, named in Host
    with db.session() as session:
        secret = tenants.get_or_create_tenant(session, "alpha").secret
    signed = hmac.new(secret.encode(), headers["X-Shenggu-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Shenggu-Signature"] == "sha256=" + signed.hexdigest()


def test_garbage_callback_url_in_the_database_does_not_stop_other_tenants(db, receiver):
    garbage = [
        finished_job(db, "old", url, waited=60)
        for url in ("http://[::1", "x" * 5000, "javascript:alert(1)", "http://\x00/")
    ]
    good = finished_job(db, "beta", f"http://127.0.0.1:{receiver.port}/hook")
    assert deliver(db, callback_allow_private=True) == 5
    assert callback_of(db, good)["state"] == "delivered" and len(receiver.requests) == 1
    assert [state_of(db, job_id) for job_id in garbage] == [("refused", 1)] * len(garbage)


def test_a_crashing_delivery_costs_one_attempt_and_others_are_delivered(db, receiver, monkeypatch):
    send = CallbackSender.send

    async def crash_on_boom(self, url, body, secret):
        if "boom" in url:
            raise RuntimeError("a bug in delivery")
        return await send(self, url, body, secret)

    monkeypatch.setattr(CallbackSender, "send", crash_on_boom)
    crashing = finished_job(db, "old", f"http://127.0.0.1:{receiver.port}/boom", waited=60)
    good = finished_job(db, "beta", f"http://127.0.0.1:{receiver.port}/hook")
    assert deliver(db, callback_allow_private=True) == 2
    assert state_of(db, crashing) == ("pending", 1) and state_of(db, good) == ("delivered", 1)
    assert deliver(db, callback_allow_private=True) == 0  # the crashed one waits for its backoff, not retried at once


def test_due_callbacks_are_claimed_oldest_first_and_rescheduled(db):
    ids = {waited: finished_job(db, "alpha", "https://hooks.example/", waited=waited) for waited in (1, 3, 2)}
    with db.session() as session:
        first = [job.id for job in jobs.claim_callbacks(session, limit=2)]
    with db.session() as session:
        second = [job.id for job in jobs.claim_callbacks(session, limit=2)]
    assert first == [ids[3], ids[2]] and second == [ids[1]]


def test_a_slow_receiver_cannot_hold_up_the_others(db, receiver, monkeypatch):
    monkeypatch.setattr(callbacks, "_DEADLINE", 0.5)
    slow = Receiver(delay=3.0)
    try:
        stuck = finished_job(db, "old", f"http://127.0.0.1:{slow.port}/hook", waited=60)
        good = finished_job(db, "beta", f"http://127.0.0.1:{receiver.port}/hook")
        deliver(db, callback_allow_private=True)
    finally:
        slow.close()
    # Cut off at the deadline (without it the slow receiver would have answered 200 after 3 s: "delivered").
    assert state_of(db, stuck) == ("pending", 1) and state_of(db, good) == ("delivered", 1)


def test_redirects_are_not_followed(db):
    redirecting = Receiver(status=307, headers={"Location": "/elsewhere"})  # followed, it would come back here
    try:
        job_id = finished_job(db, "alpha", f"http://127.0.0.1:{redirecting.port}/hook")
        deliver(db, callback_allow_private=True)
    finally:
        redirecting.close()
    assert state_of(db, job_id) == ("pending", 1) and len(redirecting.requests) == 1
