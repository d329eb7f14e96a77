"""Per-tenant stored hotword lists: the /v1/hotwords API, and their use by file, job and streaming recognition."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shenggu.audio import decode_audio
from shenggu.config import Settings
from shenggu.service.app import create_app
from tests.servers import call_as, running_server, tenant_keys
from tests.test_stream import open_stream, pcm, run

TERMS = ["房地产", "中介"]
CLIP = "zh_wenet_BAC009S0724W0121"  # Whisper-base alone hears 佛地产 and 中间


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    settings = Settings(preload_models=False, job_workers=0, data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    keys = tenant_keys(app, "estate", "other")
    with running_server(app) as base:
        yield base, keys


def call(server, tenant, method, path, **kwargs):
    base, keys = server
    return call_as(base, keys[tenant], method, path, **kwargs)


def test_lists_are_stored_per_tenant(server):
    put = call(server, "other", "PUT", "/v1/hotwords/products", json={"words": ["声谷", "声谷", " 语音 ", "语音平台"]})
    assert put.status_code == 200, put.text
    assert put.json()["words"] == ["声谷", "语音", "语音平台"]  # blanks trimmed, duplicates dropped
    assert call(server, "other", "GET", "/v1/hotwords/products").json()["words"] == ["声谷", "语音", "语音平台"]
    assert [x["name"] for x in call(server, "other", "GET", "/v1/hotwords").json()["data"]] == ["products"]
    # Another tenant sees none of it.
    assert call(server, "estate", "GET", "/v1/hotwords/products").status_code == 404
    assert all(x["name"] != "products" for x in call(server, "estate", "GET", "/v1/hotwords").json()["data"])
    replaced = call(server, "other", "PUT", "/v1/hotwords/products", json={"words": ["新词"]})
    assert replaced.json()["words"] == ["新词"]
    assert call(server, "other", "DELETE", "/v1/hotwords/products").status_code == 204
    assert call(server, "other", "GET", "/v1/hotwords/products").status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    [
        ("bad name!", {"words": ["x"]}, 400, "invalid_option"),
        ("ok", {"words": ["x" * 41]}, 422, None),
        ("ok", {"words": [f"w{i}" for i in range(201)]}, 422, None),
        ("ok", {"terms": ["x"]}, 422, None),
    ],
)
def test_bad_lists_are_refused(server, name, body, status, code):
    response = call(server, "other", "PUT", f"/v1/hotwords/{name}", json=body)
    assert response.status_code == status, response.text
    assert "error" in response.json()
    if code:
        assert response.json()["error"]["code"] == code


def test_unknown_list_named_by_a_request_is_a_clear_error(server, data_dir):
    audio = (data_dir / "asr" / f"{CLIP}.wav").read_bytes()
    response = call(
        server,
        "other",
        "POST",
        "/v1/audio/transcriptions",
        files={"file": ("a.wav", audio)},
        data={"language": "zh", "hotword_lists": "nope"},
    )
    assert response.status_code == 404
    assert "nope" in response.json()["error"]["message"]


def test_default_list_applies_to_file_transcription_and_named_lists_on_request(server, data_dir):
    audio = (data_dir / "asr" / f"{CLIP}.wav").read_bytes()

    def transcribe(tenant, **fields):
        response = call(
            server,
            tenant,
            "POST",
            "/v1/audio/transcriptions",
            files={"file": ("a.wav", audio)},
            data={"language": "zh", **fields},
        )
        assert response.status_code == 200, response.text
        return response.json()["text"]

    assert not all(t in transcribe("other") for t in TERMS)
    call(server, "estate", "PUT", "/v1/hotwords/default", json={"words": TERMS})
    text = transcribe("estate")  # no hotwords in the request: the tenant's default list applies
    assert all(t in text for t in TERMS), text
    call(server, "other", "PUT", "/v1/hotwords/estate-terms", json={"words": TERMS})
    named = transcribe("other", hotword_lists="estate-terms")
    assert all(t in named for t in TERMS), named


def test_stream_uses_the_tenants_lists(server, data_dir):
    base, keys = server
    call(server, "other", "PUT", "/v1/hotwords/estate-terms", json={"words": TERMS})
    audio = pcm(np.concatenate([decode_audio(data_dir / "asr" / f"{CLIP}.wav"), np.zeros(16000, np.float32)]))
    stream_server = (base.replace("http://", "ws://"), keys["other"])
    with open_stream(stream_server, "language=zh&hotword_lists=estate-terms") as ws:
        messages = run(ws, audio)
    text = "".join(m["text"] for m in messages if m["type"] == "final")
    assert all(t in text for t in TERMS), text
    with open_stream(stream_server, "language=zh&hotword_lists=missing") as ws:
        error = json.loads(ws.recv(timeout=30))
    assert error["type"] == "error" and error["code"] == "not_found"
