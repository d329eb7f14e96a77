"""`shenggu bench stream --protocol`: one real recording streamed in real time through every client protocol
(native, FunASR, Wyoming, OpenAI Realtime), each with its own client package, against a server started here with
every listener; the summary keys per protocol, and a protocol whose client fails is a row with an error, not a
crash."""

from __future__ import annotations

import json

import pytest

from shenggu.bench.stream_protocols import PROTOCOLS, ProtocolBenchConfig, parse_protocols, run_protocol_bench
from shenggu.errors import InvalidOptionError
from tests.conftest import DATA_DIR


def test_protocol_names_are_checked():
    assert parse_protocols("all") == PROTOCOLS
    assert parse_protocols("funasr, wyoming,funasr") == ("funasr", "wyoming")
    for bad in ("", "mqtt", "native,grpc"):
        with pytest.raises(InvalidOptionError, match="--protocol takes"):
            parse_protocols(bad)


@pytest.mark.slow
def test_every_protocol_gives_a_final_for_the_same_recording(recognizer, tmp_path):
    summary = run_protocol_bench(ProtocolBenchConfig(DATA_DIR / "manifest.tsv", tmp_path, PROTOCOLS, limit=1))
    rows = json.loads((tmp_path / "results.json").read_text())["utterances"]
    assert [r["protocol"] for r in rows] == list(PROTOCOLS)
    for name in PROTOCOLS:
        numbers = summary["protocols"][name]
        assert numbers["errors"] == 0, [r["error"] for r in rows if r["protocol"] == name]
        assert numbers["final_latency_ms_p50"] is not None and numbers["final_latency_ms_p50"] < 30_000
        assert numbers["cer_zh"] is not None and numbers["cer_zh"] <= 0.35, (name, rows)
    assert (tmp_path / "report.html").stat().st_size > 1000
