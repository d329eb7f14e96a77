"""Quality inspection on spoken calls: the first N dialogues spoken by two of shenggu's Mandarin TTS voices (agent
``zf_xiaoxiao``, customer ``zm_yunjian``; synthetic speech, not recorded calls), one party per channel, then
recognized and inspected as a stereo recording and as the same call mixed to mono (diarized).

Keys: ``call_hours_per_hour`` (hours of stereo calls inspected per hour of wall time: reading the file,
recognition of both channels, inspection with the sentiment curve; synthesis not counted),
``mono_call_hours_per_hour`` (the same with diarization instead of channels), ``spoken_calls``,
``spoken_call_seconds`` (their total length), ``spoken_cer`` / ``mono_spoken_cer`` (character error rate of the
transcripts against the dialogue), ``spoken_role_accuracy`` / ``mono_role_accuracy`` (share of spoken turns
whose best-overlapping utterance has the turn's role; stereo with the agent's side named, as an operator
configures it; mono by diarization and the greeting), ``spoken_rule_agreement`` (share of rule verdicts on the
stereo call equal to those on the text dialogue), ``peak_rss_mb_spoken`` (the process's peak RSS after the
spoken calls)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from shenggu.audio.decode import encode_wav
from shenggu.bench.qa_rules import timed_call, verdicts
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.scoring import ErrorCounts, score, total
from shenggu.solutions.qa import Call, CallAudioOptions, Ruleset, call_from_audio, default_sentiment, inspect

VOICES = {"agent": "zf_xiaoxiao", "customer": "zm_yunjian"}
_SAMPLE_RATE = 16000
_PAUSE_SECONDS = 0.5
_MAX_TURN_CHARS = 120  # long helpdesk posts are cut, so one call stays a minute or two of speech


def speak_turns(turns: Sequence) -> tuple[np.ndarray, list[tuple[str, float, float, str]]]:
    """The dialogue's turns (``speaker``, ``text``) spoken one after another, each party on its own channel: a
    ``(2, samples)`` 16 kHz array (agent left, customer right) and each spoken turn's ``(role, start, end,
    text)``."""
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize

    settings = get_settings()
    pieces, spoken, cursor = [], [], 0
    for turn in turns:
        role = turn.speaker if turn.speaker in VOICES else "customer"
        text = turn.text.strip()[:_MAX_TURN_CHARS]
        if not text:
            continue
        chunks = synthesize(text, VOICES[role], sample_rate=_SAMPLE_RATE, settings=settings)
        audio = np.concatenate([c.samples for c in chunks])
        cursor += int(_PAUSE_SECONDS * _SAMPLE_RATE)
        pieces.append((role, cursor, audio))
        spoken.append((role, cursor / _SAMPLE_RATE, (cursor + audio.size) / _SAMPLE_RATE, text))
        cursor += audio.size
    sides = np.zeros((2, cursor + _SAMPLE_RATE), np.float32)
    for role, start, audio in pieces:
        sides[0 if role == "agent" else 1, start : start + audio.size] = audio
    return sides, spoken


def _role_accuracy(call: Call, spoken: Sequence[tuple[str, float, float, str]]) -> tuple[int, int]:
    """Spoken turns whose best-overlapping utterance has the turn's role, and the number of spoken turns."""
    right = 0
    for role, start, end, _ in spoken:
        overlaps = [max(0.0, min(end, u.end) - max(start, u.start)) for u in call.utterances]
        right += bool(overlaps) and max(overlaps) > 0 and call.utterances[int(np.argmax(overlaps))].role == role
    return right, len(spoken)


def _inspected(
    path: Path, options: CallAudioOptions, ruleset: Ruleset, recognizer, settings
) -> tuple[Call, dict, float]:
    started = time.perf_counter()
    call = call_from_audio(path, recognizer, options, settings=settings)
    result = inspect(call, ruleset, sentiment=default_sentiment)
    return call, verdicts(result), time.perf_counter() - started


def spoken_calls(dialogues: Sequence[dict], ruleset: Ruleset, out: Path, errors: list[dict]) -> tuple[list[dict], dict]:
    """Speak, recognize and inspect ``dialogues`` (WAVs kept under ``out/spoken``); one row per call and the
    spoken-call keys. A call that fails is an error entry and the others go on."""
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings

    settings = get_settings()
    recognizer = get_recognizer(settings=settings)
    folder = out / "spoken"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for d in tqdm(dialogues, desc="qa spoken calls", unit="call", file=sys.stderr, disable=not sys.stderr.isatty()):
        try:
            rows.append(_spoken_call(d, ruleset, folder, recognizer, settings))
        except Exception as exc:  # one call that cannot be spoken or inspected is reported; the others go on
            errors.append({"kind": "spoken", "where": d["id"], "error": f"{type(exc).__name__}: {exc}"[:200]})
    summary = _spoken_keys(rows)
    summary["peak_rss_mb_spoken"] = round(peak_rss_mb(), 1)
    for row in rows:  # the report's rows: rates, not edit counts
        row["cer"], row["mono_cer"] = round(row.pop("errors").rate, 4), round(row.pop("mono_errors").rate, 4)
    return rows, summary


def _spoken_call(d: dict, ruleset: Ruleset, folder: Path, recognizer, settings) -> dict:
    sides, spoken = speak_turns(d["turns"])
    stereo, mono = folder / f"{_safe(d['id'])}.wav", folder / f"{_safe(d['id'])}.mono.wav"
    stereo.write_bytes(encode_wav(sides))
    mono.write_bytes(encode_wav(sides.mean(axis=0)))
    said = "".join(text for *_, text in spoken)
    # The operator knows which side the agent's line records; in mono the greeter is the agent (the helpdesk
    # threads often open with the customer, so that guess is part of what mono_role_accuracy measures).
    stereo_options = CallAudioOptions(channels="stereo", agent_channel="left")
    call, fired, seconds = _inspected(stereo, stereo_options, ruleset, recognizer, settings)
    mono_call, _, mono_seconds = _inspected(mono, CallAudioOptions(channels="mono"), ruleset, recognizer, settings)
    text_fired = verdicts(inspect(timed_call(d["turns"], d["id"]), ruleset, sentiment=default_sentiment))
    rules = sorted(set(fired) | set(text_fired))
    return {
        "id": d["id"],
        "seconds": round(sides.shape[1] / _SAMPLE_RATE, 2),
        "inspect_seconds": round(seconds, 2),
        "mono_inspect_seconds": round(mono_seconds, 2),
        "errors": score("zh", said, "".join(u.text for u in call.utterances)),
        "mono_errors": score("zh", said, "".join(u.text for u in mono_call.utterances)),
        "roles": _role_accuracy(call, spoken),
        "mono_roles": _role_accuracy(mono_call, spoken),
        "agreement": (sum(fired.get(r, False) == text_fired.get(r, False) for r in rules), len(rules)),
        "heard": " / ".join(f"{u.role}: {u.text}" for u in call.utterances),
    }


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80]


def _ratio(pairs: Sequence[tuple[int, int]]) -> float | None:
    total_count = sum(n for _, n in pairs)
    return round(sum(k for k, _ in pairs) / total_count, 4) if total_count else None


def _spoken_keys(rows: list[dict]) -> dict:
    audio = sum(r["seconds"] for r in rows)
    stereo, mono = sum(r["inspect_seconds"] for r in rows), sum(r["mono_inspect_seconds"] for r in rows)
    errors: list[ErrorCounts] = [r["errors"] for r in rows]
    mono_errors: list[ErrorCounts] = [r["mono_errors"] for r in rows]
    return {
        "spoken_calls": len(rows),
        "spoken_call_seconds": round(audio, 1),
        "spoken_voices": VOICES,
        "call_hours_per_hour": round(audio / stereo, 2) if stereo else None,
        "mono_call_hours_per_hour": round(audio / mono, 2) if mono else None,
        "spoken_cer": round(total(errors).rate, 4) if errors else None,
        "mono_spoken_cer": round(total(mono_errors).rate, 4) if mono_errors else None,
        "spoken_role_accuracy": _ratio([r["roles"] for r in rows]),
        "mono_role_accuracy": _ratio([r["mono_roles"] for r in rows]),
        "spoken_rule_agreement": _ratio([r["agreement"] for r in rows]),
    }
