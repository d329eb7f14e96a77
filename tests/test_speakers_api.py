"""Enrolled voices (/v1/speakers), diarized transcription and the court_record job, through the HTTP API and the
CLI, on real recordings."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from shenggu.audio import decode_audio
from shenggu.audio.decode import encode_wav
from shenggu.cli.main import app as cli
from shenggu.config import Settings
from shenggu.service.app import create_app
from tests.conftest import find_clip
from tests.servers import call_as, running_server, tenant_keys

JUDGE = "en_mfa_acoustic_corpus"  # 27 s of one talker
OTHER = "zh_firered_BAC009S0764W0121"
CLOSEST = "zh_wenet_BAC009S0724W0121"  # the most similar other bundled voice (score 0.63 vs 0.85 same)
CLERK = "zh_firered_BAC009S0764W0121"  # first speaker of the two-speaker mix
MIX_2SPK = "zh_mix_2spk_c"  # two AISHELL speakers, A B A B
MIX_3SPK = "en_mix_3spk"


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    settings = Settings(preload_models=False, job_workers=1, data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    keys = tenant_keys(app, "court", "other")
    with running_server(app) as base:
        yield base, keys


def call(server, tenant, method, path, **kwargs):
    base, keys = server
    return call_as(base, keys[tenant], method, path, **kwargs)


def clip(clip_id: str, part: slice = slice(None)) -> bytes:
    return encode_wav(decode_audio(find_clip(clip_id))[part])


def test_enroll_verify_list_delete(server):
    enrolled = call(server, "court", "POST", "/v1/speakers", data={"name": "张法官"},
                    files={"file": ("a.wav", clip(JUDGE, slice(0, 16000 * 5)))})  # fmt: skip
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["clips"] == 1 and enrolled.json()["seconds"] > 2
    # The rest of the same recording matches; another speaker does not.
    same = call(server, "court", "POST", "/v1/speakers/张法官/verify",
                files={"file": ("b.wav", clip(JUDGE, slice(16000 * 5, None)))})  # fmt: skip
    assert same.status_code == 200, same.text
    assert same.json()["match"] is True and same.json()["score"] >= same.json()["threshold"]
    other_clip = {"file": ("c.wav", clip(OTHER))}
    other = call(server, "court", "POST", "/v1/speakers/张法官/verify", files=other_clip)
    assert other.json()["match"] is False
    closest = call(server, "court", "POST", "/v1/speakers/张法官/verify",
                   files={"file": ("e.wav", clip(CLOSEST))})  # fmt: skip
    assert closest.json()["score"] < same.json()["score"] - 0.1
    strict = call(server, "court", "POST", "/v1/speakers/张法官/verify", data={"threshold": "0.999"},
                  files={"file": ("b.wav", clip(JUDGE, slice(16000 * 5, None)))})  # fmt: skip
    assert strict.json()["match"] is False
    # Enrolling again refines the voiceprint.
    again = call(server, "court", "POST", "/v1/speakers", data={"name": "张法官"},
                 files={"file": ("d.wav", clip(JUDGE, slice(16000 * 5, None)))})  # fmt: skip
    assert again.json()["clips"] == 2
    assert [s["name"] for s in call(server, "court", "GET", "/v1/speakers").json()["data"]] == ["张法官"]
    assert call(server, "other", "GET", "/v1/speakers/张法官").status_code == 404  # tenants are separate
    assert call(server, "court", "DELETE", "/v1/speakers/张法官").status_code == 204
    assert call(server, "court", "GET", "/v1/speakers/张法官").status_code == 404


@pytest.mark.parametrize(
    ("name", "audio", "status", "code"),
    [
        ("a/b", np.zeros(16000, np.float32), 400, "invalid_option"),
        ("quiet", np.zeros(16000 * 3, np.float32), 422, "no_speech"),
    ],
)
def test_bad_enrollments(server, name, audio, status, code):
    response = call(server, "court", "POST", "/v1/speakers", data={"name": name},
                    files={"file": ("x.wav", encode_wav(audio))})  # fmt: skip
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_verify_unknown_speaker_is_404(server):
    files = {"file": ("x.wav", clip(JUDGE))}
    response = call(server, "court", "POST", "/v1/speakers/nobody/verify", files=files)
    assert response.status_code == 404


def test_diarized_transcription_with_an_enrolled_role(server, mixes):
    call(server, "court", "POST", "/v1/speakers", data={"name": "书记员"},
         files={"file": ("a.wav", clip(CLERK))})  # fmt: skip
    with mixes[MIX_2SPK].open("rb") as f:
        response = call(server, "court", "POST", "/v1/audio/transcriptions", files={"file": ("mix.wav", f)},
                        data={"language": "zh", "response_format": "verbose_json", "diarize": "true",
                              "roles": "原告,书记员"})  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    # The enrolled 书记员 speaks first; by order alone they would have been 原告.
    assert body["speakers"] == [{"speaker": "SPEAKER_00", "role": "书记员"}, {"speaker": "SPEAKER_01", "role": "原告"}]
    assert [s["speaker"] for s in body["segments"]][:2] == ["SPEAKER_00", "SPEAKER_01"]
    with mixes[MIX_2SPK].open("rb") as f:
        fields = {"language": "zh", "response_format": "text", "diarize": "true", "roles": "原告,书记员"}
        text = call(server, "court", "POST", "/v1/audio/transcriptions", files={"file": ("mix.wav", f)}, data=fields)
    assert text.text.splitlines()[0].startswith("书记员: ")
    call(server, "court", "DELETE", "/v1/speakers/书记员")


def test_bad_diarization_options(server, mixes):
    with mixes[MIX_2SPK].open("rb") as f:
        response = call(server, "court", "POST", "/v1/audio/transcriptions", files={"file": ("mix.wav", f)},
                        data={"diarize": "true", "min_speakers": "3", "max_speakers": "2"})  # fmt: skip
    assert response.status_code == 400
    assert "min_speakers" in response.json()["error"]["message"]


def test_court_record_job(server, mixes, tmp_path):
    from docx import Document
    from pypdf import PdfReader

    with mixes[MIX_2SPK].open("rb") as f:
        created = call(server, "court", "POST", "/v1/jobs", files={"file": ("hearing.wav", f)},
                       data={"task": "court_record", "language": "zh", "case_number": "(2024)京0105民初123号",
                             "court": "北京市朝阳区人民法院", "participants": "审判长:王明,原告:李四"})  # fmt: skip
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    for _ in range(600):
        job = call(server, "court", "GET", f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    record = job["result"]
    assert record["header"]["case_number"] == "(2024)京0105民初123号"
    assert [u["role"] for u in record["utterances"]] == ["审判长", "原告", "审判长", "原告"]
    assert sorted(record["files"]) == ["record.docx", "record.json", "record.pdf"]
    docx = call(server, "court", "GET", f"/v1/jobs/{job_id}/files/record.docx")
    assert docx.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "审判长" in text and record["utterances"][0]["text"][:4] in text
    pdf = call(server, "court", "GET", f"/v1/jobs/{job_id}/files/record.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "(2024)" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert call(server, "court", "GET", f"/v1/jobs/{job_id}/files/secret.txt").status_code == 404
    assert call(server, "other", "GET", f"/v1/jobs/{job_id}/files/record.pdf").status_code == 404


def test_court_record_job_needs_a_case_number(server, mixes):
    with mixes[MIX_2SPK].open("rb") as f:
        response = call(server, "court", "POST", "/v1/jobs", files={"file": ("hearing.wav", f)},
                        data={"task": "court_record"})  # fmt: skip
    assert response.status_code == 400
    assert "case_number" in response.json()["error"]["message"]


def test_cli_diarize_and_court_record(mixes, recognizer, tmp_path):
    runner = CliRunner()
    rttm = runner.invoke(cli, ["diarize", str(mixes[MIX_3SPK]), "--format", "rttm"])
    assert rttm.exit_code == 0, rttm.output
    assert {line.split()[7] for line in rttm.output.splitlines()} == {"SPEAKER_00", "SPEAKER_01", "SPEAKER_02"}
    bad = runner.invoke(cli, ["diarize", str(mixes[MIX_3SPK]), "--format", "xml"])
    assert bad.exit_code == 2 and "rttm or json" in bad.output
    out = tmp_path / "record"
    made = runner.invoke(cli, ["court", "record", str(mixes[MIX_2SPK]), "--case", "(2024)沪01民终1号",
                               "--roles", "judge,defendant", "--out", str(out)])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert {p.name for p in out.iterdir()} == {"record.json", "record.docx", "record.pdf"}
    assert "被告" in (out / "record.json").read_text(encoding="utf-8")
