"""Clients of a shenggu server: streaming ASR over WebSocket.

``StreamClient`` sends 16-bit PCM to ``/v1/audio/stream`` and yields the server's messages as events
(``PartialMessage`` / ``FinalMessage`` / ``WarningMessage`` / ``ErrorMessage`` / ``DoneMessage``);
``transcribe_file`` streams a whole file (optionally at real-time pace) and returns a ``StreamResult`` with
per-final latencies. ``ConsolePrinter`` prints events for people (``shenggu stream``).
"""

from shenggu.client.console import ConsolePrinter
from shenggu.client.stream import (
    DoneMessage,
    ErrorMessage,
    Event,
    FinalMessage,
    PartialMessage,
    StreamClient,
    StreamClientError,
    StreamResult,
    WarningMessage,
    Word,
)

__all__ = [
    "ConsolePrinter",
    "DoneMessage",
    "ErrorMessage",
    "Event",
    "FinalMessage",
    "PartialMessage",
    "StreamClient",
    "StreamClientError",
    "StreamResult",
    "WarningMessage",
    "Word",
]
