"""What a protocol's latency client reports for one recording streamed in real time (``shenggu bench stream
--protocol``): each ``shenggu/bench/protocol_<name>.py`` has ``final_latency(base, key, audio, chunk_s)``
returning a :class:`ProtocolRun`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProtocolRun:
    """One recording through a protocol's own client: the recognized ``text``, ``final_latency_s`` (from the last
    audio chunk sent to the final result) and ``first_partial_s`` (from the first audio chunk sent to the first
    partial result; None when the protocol or the run gave no partial)."""

    text: str
    final_latency_s: float
    first_partial_s: float | None
