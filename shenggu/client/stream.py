"""A blocking client of the streaming-ASR WebSocket (``/v1/audio/stream``), for scripts and threads.

Protocol: the client sends binary frames of little-endian 16-bit mono PCM, then ``{"type": "end"}``; the server
answers JSON text messages ``partial`` (an open sentence), ``final`` (a closed sentence, with words),
``warning`` (the stream goes on: e.g. the server is falling behind), ``error`` (then it closes) and ``done``
(after the last final, then it closes). Times are seconds of audio from the start of the stream.

One connection carries one stream. ``transcribe_file`` / ``transcribe_audio`` connect, send, collect and close
by themselves; ``connect`` / ``send_pcm`` / ``end`` / ``messages`` are the parts, for live sources::

    with StreamClient("ws://127.0.0.1:8000", key="...", language="zh") as client:
        client.send_pcm(samples)  # float32 in [-1, 1] or int16 PCM bytes, any length
        client.end()
        for event in client.messages():
            print(event)

``send_pcm`` may be called from one thread while another iterates ``messages`` (websockets' sync connection
allows one sender and one receiver at a time).
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus, InvalidURI, WebSocketException
from websockets.sync.client import ClientConnection, connect

from shenggu.audio.encode import pcm16
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.text.lists import split_commas

STREAM_PATH = "/v1/audio/stream"
"""Path of the streaming endpoint, added to a URL given without one."""
MAX_FRAME_BYTES = 1 << 20
"""Largest binary frame the server accepts; longer audio is split."""
TIME_TOLERANCE_S = 1e-3
"""Slack when matching a server timestamp to the audio sent (servers round their times)."""


class StreamClientError(ShengguError):
    """The stream could not be opened (refused, rejected at the handshake) or the server reported an error."""

    code = "stream_error"

    def __init__(self, message: str, server_code: str | None = None) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line, whatever the server sent
        self.server_code = server_code


# --------------------------------------------------------------------------------------------------------
# Events: the server's messages as received (not the server-side types of ``shenggu.asr.streaming``)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One recognised word of a final, with its audio times in seconds."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class PartialMessage:
    """The current text of the open sentence (replaced by the next partial or by its final)."""

    text: str
    start: float
    received_at: float  # time.monotonic() when the message arrived


@dataclass(frozen=True)
class FinalMessage:
    """A closed sentence: its text, audio times and words; ``lag_ms``, how long the audio that closed it waited
    at the server before it was processed, and ``timing``, where its time went (milliseconds by part), when the
    server reports them."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...]
    received_at: float
    lag_ms: float | None = None
    timing: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WarningMessage:
    """The server says something is wrong but the stream goes on (``falling_behind``, with its ``lag_ms``)."""

    code: str
    message: str
    lag_ms: float | None
    received_at: float


@dataclass(frozen=True)
class ErrorMessage:
    """An error the server reported (or, for codes ``connection_closed``, ``connection_lost``, ``timeout`` and
    ``protocol_error``, one the client noticed); the stream is over."""

    code: str
    message: str
    received_at: float


@dataclass(frozen=True)
class DoneMessage:
    """The server sent its last final; the stream is over. ``lag_ms_max``: the furthest the server fell behind
    this stream's audio, when it says."""

    received_at: float
    lag_ms_max: float | None = None


Event = PartialMessage | FinalMessage | WarningMessage | ErrorMessage | DoneMessage


def _optional_number(data: dict, key: str) -> float | None:
    """``data[key]`` as a float, or None when the message leaves it out (an older server)."""
    value = data.get(key)
    return None if value is None else float(value)


def parse_event(raw: str | bytes, received_at: float) -> Event | None:
    """The event of one server message; None for a message type this client does not know (ignored, so a newer
    server can add types). A malformed message becomes a ``protocol_error``."""
    try:
        data = json.loads(raw)
        kind = data["type"]
        if kind == "partial":
            return PartialMessage(str(data["text"]), float(data["start"]), received_at)
        if kind == "final":
            words = tuple(
                Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
                for w in data.get("words") or ()
            )
            timing = {str(k): float(v) for k, v in (data.get("timing") or {}).items() if isinstance(v, int | float)}
            return FinalMessage(
                str(data["text"]),
                float(data["start"]),
                float(data["end"]),
                words,
                received_at,
                _optional_number(data, "lag_ms"),
                timing,
            )
        if kind == "warning":
            code, message = str(data.get("code", "warning")), str(data.get("message", ""))
            return WarningMessage(code, message, _optional_number(data, "lag_ms"), received_at)
        if kind == "error":
            return ErrorMessage(str(data.get("code", "server_error")), str(data.get("message", "")), received_at)
        if kind == "done":
            return DoneMessage(received_at, _optional_number(data, "lag_ms_max"))
        return None
    except (ValueError, TypeError, KeyError) as exc:
        text = raw if isinstance(raw, str) else f"<{len(raw)} binary bytes>"
        return ErrorMessage("protocol_error", f"unexpected message {text[:200]!r} ({exc})", received_at)


# --------------------------------------------------------------------------------------------------------
# Result of a whole stream
# --------------------------------------------------------------------------------------------------------


@dataclass
class StreamResult:
    """Everything a stream produced, with the timings a benchmark needs.

    ``final_latencies_s[i]`` is how long after the audio up to ``finals[i].end`` was sent its final arrived;
    ``first_partial_s`` is the first partial's arrival after the first audio was sent (None without partials);
    ``wall_s`` runs from the start of sending to ``done`` (or the error).
    """

    finals: list[FinalMessage]
    partials: list[PartialMessage]
    error: ErrorMessage | None
    text: str
    audio_seconds: float = 0.0
    final_latencies_s: list[float] = field(default_factory=list)
    first_partial_s: float | None = None
    wall_s: float = 0.0
    warnings: list[WarningMessage] = field(default_factory=list)
    lag_ms_max: float | None = None  # the server's own account: the furthest it fell behind this stream
    last_audio_sent_at: float | None = None  # time.monotonic() when the last piece of audio went out

    def raise_for_error(self) -> None:
        """Raise ``StreamClientError`` (one line) if the stream ended with an error."""
        if self.error is not None:
            raise StreamClientError(f"{self.error.code}: {self.error.message}", server_code=self.error.code)


def join_texts(texts: Sequence[str]) -> str:
    """Sentences as one text: Chinese runs together, other scripts get a space between sentences."""
    out = ""
    for text in (t.strip() for t in texts):
        if out and text and not (is_wide(out[-1]) or is_wide(text[0])):
            out += " "
        out += text
    return out


def is_wide(char: str) -> bool:
    """CJK characters and full-width punctuation: no spaces between them, two terminal cells each."""
    return unicodedata.east_asian_width(char) in ("W", "F")


@dataclass
class _SendClock:
    """When each piece of audio was sent, to map an audio time to the moment the server could know it."""

    start: float  # monotonic time the stream's clock started (just before the first chunk)
    audio_ends: list[float] = field(default_factory=list)  # audio seconds sent so far, after each chunk
    sent_at: list[float] = field(default_factory=list)
    end_sent_at: float | None = None

    def record(self, audio_end: float) -> None:
        self.audio_ends.append(audio_end)
        self.sent_at.append(time.monotonic())

    def when_sent(self, audio_time: float) -> float:
        """The monotonic time at which the audio up to ``audio_time`` had been sent."""
        i = bisect.bisect_left(self.audio_ends, audio_time - TIME_TOLERANCE_S)
        if i < len(self.sent_at):
            return self.sent_at[i]
        # Past the last sample (codec padding, rounding): known once the end message went out.
        return self.end_sent_at or (self.sent_at[-1] if self.sent_at else self.start)


class _Collector:
    """Gathers a stream's events in the reader thread and tells the sender when the stream is over."""

    def __init__(self, on_event: Callable[[Event], None] | None) -> None:
        self.on_event = on_event
        self.partials: list[PartialMessage] = []
        self.finals: list[FinalMessage] = []
        self.warnings: list[WarningMessage] = []
        self.error: ErrorMessage | None = None
        self.done_at: float | None = None
        self.lag_ms_max: float | None = None
        self.last_event_at = time.monotonic()
        self.callback_error: Exception | None = None
        self.over = threading.Event()
        self._lock = threading.Lock()

    def read(self, events: Iterator[Event]) -> None:
        """Consume ``events`` until the stream ends (run in the reader thread)."""
        try:
            for event in events:
                self._add(event)
                if self.on_event is not None:
                    self.on_event(event)
        except Exception as exc:  # a failing callback must not leave the sender waiting for 'done'
            self.callback_error = exc
        finally:
            self.over.set()

    def _add(self, event: Event) -> None:
        with self._lock:
            self.last_event_at = event.received_at
            if isinstance(event, PartialMessage):
                self.partials.append(event)
            elif isinstance(event, FinalMessage):
                self.finals.append(event)
            elif isinstance(event, WarningMessage):
                self.warnings.append(event)
            elif isinstance(event, DoneMessage):
                self.done_at, self.lag_ms_max = event.received_at, event.lag_ms_max
            elif self.error is None:
                self.error = event

    def fail(self, error: ErrorMessage) -> None:
        """Record a client-side error unless the stream already ended."""
        with self._lock:
            if self.error is None and self.done_at is None:
                self.error = error

    def result(self, clock: _SendClock, audio_seconds: float) -> StreamResult:
        with self._lock:
            finals, partials, error = list(self.finals), list(self.partials), self.error
            warnings = list(self.warnings)
            finished_at = self.done_at or (error.received_at if error else time.monotonic())
        first_sent = clock.sent_at[0] if clock.sent_at else clock.start
        return StreamResult(
            finals=finals,
            partials=partials,
            error=error,
            text=join_texts([f.text for f in finals]),
            audio_seconds=audio_seconds,
            final_latencies_s=[f.received_at - clock.when_sent(f.end) for f in finals],
            first_partial_s=partials[0].received_at - first_sent if partials else None,
            wall_s=finished_at - clock.start,
            warnings=warnings,
            lag_ms_max=self.lag_ms_max,
            last_audio_sent_at=clock.sent_at[-1] if clock.sent_at else None,
        )


# --------------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------------


def stream_url(url: str, language: str, sample_rate: int, hotwords: Sequence[str]) -> str:
    """The full stream URL: ``http(s)`` becomes ``ws(s)``, the stream path is added to a bare ``HOST:PORT``, and
    the stream's parameters replace any of the same name in the query (others, e.g. ``api_key``, are kept)."""
    parts = urllib.parse.urlsplit(url.strip())
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise InvalidOptionError(f"not a ws:// or wss:// URL: {url!r}")
    params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    params.update(language=language, sample_rate=str(sample_rate), format="pcm_s16le")
    if hotwords:
        params["hotwords"] = ",".join(hotwords)
    path = parts.path if parts.path not in ("", "/") else STREAM_PATH
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, urllib.parse.urlencode(params), ""))


def pcm16_bytes(samples: np.ndarray | bytes | bytearray | memoryview) -> bytes:
    """Little-endian 16-bit PCM: floats (in [-1, 1], clipped) are scaled, int16 arrays and bytes kept as is."""
    if isinstance(samples, (bytes, bytearray, memoryview)):
        data = bytes(samples)
    else:
        array = np.asarray(samples).reshape(-1)
        if array.dtype.kind == "i" and array.dtype.itemsize == 2:  # int16 of either byte order
            data = array.astype("<i2", copy=False).tobytes()
        elif np.issubdtype(array.dtype, np.floating):
            data = pcm16(array)
        else:
            raise InvalidOptionError(f"PCM samples must be float or int16, not {array.dtype}")
    if len(data) % 2:
        raise InvalidOptionError("16-bit PCM needs an even number of bytes")
    return data


class StreamClient:
    """A streaming-ASR connection to a shenggu server (blocking; see the module docstring).

    ``url`` is ``ws://HOST:PORT`` (the stream path is added) or the full stream URL. ``key`` is sent as
    ``Authorization: Bearer KEY``. ``idle_timeout_s`` bounds the wait for the server after the audio has been
    sent: the stream fails with ``timeout`` when no message arrives for that long.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        language: str = "auto",
        sample_rate: int = 16000,
        hotwords: Sequence[str] = (),
        open_timeout_s: float = 10.0,
        idle_timeout_s: float = 60.0,
    ) -> None:
        if sample_rate <= 0:
            raise InvalidOptionError(f"sample_rate must be positive, not {sample_rate}")
        self.url = stream_url(url, language, sample_rate, split_commas(hotwords))
        self.key = key
        self.language = language
        self.sample_rate = sample_rate
        self.open_timeout_s = open_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._conn: ClientConnection | None = None
        self._exits: ExitStack | None = None  # closes the connection (entered as websockets asks)

    @property
    def display_url(self) -> str:
        """The URL without its query (which may hold ``api_key``), for messages."""
        return self.url.split("?", 1)[0]

    # -- connection ------------------------------------------------------------------------------------

    def connect(self) -> StreamClient:
        """Open the WebSocket; raise ``StreamClientError`` (one line) when refused or rejected."""
        if self._conn is not None:
            return self
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else None
        exits = ExitStack()
        try:
            # No permessage-deflate: PCM hardly compresses, and deflating it costs the server CPU per stream.
            opening = connect(self.url, additional_headers=headers, compression=None, open_timeout=self.open_timeout_s)
            # Entered as a context manager: websockets 17 deprecates holding a bare connect() result.
            self._conn = exits.enter_context(opening)
        except InvalidStatus as exc:
            status = exc.response.status_code
            detail = _rejection_detail(exc.response.body or b"")
            raise StreamClientError(
                f"{self.display_url} rejected the stream: HTTP {status}{': ' + detail if detail else ''}"
            ) from None
        except InvalidURI:
            raise StreamClientError(f"invalid stream URL {self.display_url}") from None
        except TimeoutError:
            raise StreamClientError(f"cannot connect to {self.display_url}: timed out") from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise StreamClientError(f"cannot connect to {self.display_url}: {reason}") from None
        except WebSocketException as exc:
            raise StreamClientError(f"cannot open a stream at {self.display_url}: {exc}") from None
        self._exits = exits
        return self

    def close(self) -> None:
        """Close the connection (safe to repeat)."""
        exits, self._exits, self._conn = self._exits, None, None
        if exits is not None:
            exits.close()

    def __enter__(self) -> StreamClient:
        return self.connect()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connection(self) -> ClientConnection:
        if self._conn is None:
            raise StreamClientError("not connected: call connect() first")
        return self._conn

    # -- the parts of a stream ---------------------------------------------------------------------------

    def send_pcm(self, samples: np.ndarray | bytes | bytearray | memoryview) -> None:
        """Send audio: float32 samples in [-1, 1] or int16 PCM (array or bytes) at ``sample_rate``, mono.

        Raises websockets' ``ConnectionClosed`` if the server has closed the stream (``messages`` says why).
        """
        data = pcm16_bytes(samples)
        conn = self._connection()
        for offset in range(0, len(data), MAX_FRAME_BYTES):
            conn.send(data[offset : offset + MAX_FRAME_BYTES])

    def end(self) -> None:
        """Say that the audio is over; the server sends its last finals, then ``done``."""
        self._connection().send(json.dumps({"type": "end"}))

    def messages(self) -> Iterator[Event]:
        """The server's events until ``DoneMessage`` or an ``ErrorMessage`` (both included, then the iterator ends).

        A connection that closes without ``done`` ends with an ``ErrorMessage`` (``connection_closed`` after a normal
        close, ``connection_lost`` otherwise), so the iterator never raises once connected.
        """
        return self._events(self._connection())  # checked now, not at the first next()

    @staticmethod
    def _events(conn: ClientConnection) -> Iterator[Event]:
        while True:
            try:
                raw = conn.recv()
            except ConnectionClosed as exc:
                code = "connection_closed" if isinstance(exc, ConnectionClosedOK) else "connection_lost"
                yield ErrorMessage(code, f"the server closed the stream before 'done' ({exc})", time.monotonic())
                return
            event = parse_event(raw, time.monotonic())
            if event is None:
                continue
            yield event
            if isinstance(event, (DoneMessage, ErrorMessage)):
                return

    # -- whole streams -------------------------------------------------------------------------------------

    def transcribe_file(
        self,
        path: str | Path,
        realtime: bool = False,
        chunk_ms: int = 100,
        on_event: Callable[[Event], None] | None = None,
    ) -> StreamResult:
        """Decode ``path`` (any audio or video file) to 16 kHz and stream it; see ``transcribe_audio``."""
        from shenggu.audio import SAMPLE_RATE, decode_audio  # PyAV is imported only when a file is decoded

        if self.sample_rate != SAMPLE_RATE:
            raise InvalidOptionError(f"files are streamed at {SAMPLE_RATE} Hz; this client says {self.sample_rate}")
        return self.transcribe_audio(decode_audio(Path(path)), realtime, chunk_ms, on_event)

    def transcribe_audio(
        self,
        samples: np.ndarray,
        realtime: bool = False,
        chunk_ms: int = 100,
        on_event: Callable[[Event], None] | None = None,
    ) -> StreamResult:
        """Stream mono ``samples`` (at ``sample_rate``) in ``chunk_ms`` pieces, then ``end``, and collect the events.

        With ``realtime`` each piece is sent once it would have been recorded (as a microphone would), else as
        fast as the connection takes it. Events are read in a background thread while sending, and
        ``on_event`` is called there for each one. Connects if needed and always closes at the end (one call,
        one connection). A server error, or a server that goes quiet, ends up in ``StreamResult.error`` (see
        ``raise_for_error``); failing to connect raises ``StreamClientError``.
        """
        if chunk_ms <= 0:
            raise InvalidOptionError(f"chunk_ms must be positive, not {chunk_ms}")
        step = max(1, self.sample_rate * chunk_ms // 1000)
        self.connect()
        collector = _Collector(on_event)
        reader = threading.Thread(target=collector.read, args=(self.messages(),), name="stream-reader", daemon=True)
        reader.start()
        try:
            clock = self._send_all(samples, step, realtime, collector.over)
            self._await_end(reader, collector)
        finally:
            self.close()  # also unblocks the reader when the caller was interrupted
        if collector.callback_error is not None:
            raise collector.callback_error
        return collector.result(clock, len(samples) / self.sample_rate)

    def _send_all(self, samples: np.ndarray, step: int, realtime: bool, over: threading.Event) -> _SendClock:
        """Send every piece (stopping early if the stream is over), then ``end``; return when each was sent."""
        clock = _SendClock(start=time.monotonic())
        try:
            for begin in range(0, len(samples), step):
                audio_end = min(begin + step, len(samples)) / self.sample_rate
                delay = clock.start + audio_end - time.monotonic() if realtime else 0.0
                if over.wait(max(0.0, delay)):  # the server failed or finished: sending more is pointless
                    return clock
                self.send_pcm(samples[begin : begin + step])
                clock.record(audio_end)
            self.end()
            clock.end_sent_at = time.monotonic()
        except ConnectionClosed:
            pass  # the server closed the stream; the reader reports why
        return clock

    def _await_end(self, reader: threading.Thread, collector: _Collector) -> None:
        """Wait for the reader to see ``done`` or an error, failing the stream if the server goes quiet."""
        sent_at = time.monotonic()  # silence while sending is normal: only quiet after the audio counts
        while reader.is_alive():
            reader.join(timeout=0.5)
            quiet_since = max(collector.last_event_at, sent_at)
            if reader.is_alive() and time.monotonic() - quiet_since > self.idle_timeout_s:
                message = f"no message from the server for {self.idle_timeout_s:g} s"
                collector.fail(ErrorMessage("timeout", message, time.monotonic()))
                self.close()


def _rejection_detail(body: bytes) -> str:
    """What an HTTP rejection's body says, in one short line: shenggu's ``{"error": {code, message}}``,
    FastAPI's ``{"detail": ...}``, or the start of the text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return f"{data['error'].get('code', '')}: {data['error'].get('message', '')}"
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])
    return " ".join(text.split())[:200]
