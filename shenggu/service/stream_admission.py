"""The admission of a stream, once for every protocol that streams audio to the recognizer (shenggu's own
``/v1/audio/stream``, FunASR's, Wyoming's, OpenAI Realtime's): who is calling, the tenant's rate and daily audio
quota, a stream slot, the hotwords, a recognizer, and, when the stream ends however it ends, metering.

It knows no transport. A refusal is a :class:`~shenggu.errors.ShengguError` (``rate_limited``,
``quota_exceeded``, ``too_many_streams``, an unknown hotword list...) that each protocol answers in its own
error form::

    principal = principal_for_tenant(app.state.db, "lobby")  # or authenticate_key(websocket)
    async with admitted_stream(app, principal, StreamOptions(language="zh"), ["menu"]) as stream:
        events = stream.session.accept(samples)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from shenggu.asr.pipeline import SUPPORTED_LANGUAGES
from shenggu.asr.streaming import StreamingSession, StreamOptions
from shenggu.errors import InvalidOptionError, ShengguError, StreamTooSlowError
from shenggu.service.engines import Engines
from shenggu.service.limits import check_audio
from shenggu.service.observability import add_audio_seconds
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage import tenants, usage
from shenggu.service.storage.db import Database
from shenggu.service.storage.tenants import Principal

STREAM_CAPABILITY = "stream"
MAX_BACKLOG_S = 30.0  # a stream this far behind real time is ended


class TooManyStreamsError(ShengguError):
    """The server has as many streams open as it allows (``max_streams``); one more would slow them all."""

    code = "too_many_streams"
    http_status = 503


@dataclass
class AdmittedStream:
    """A stream allowed to run: whose it is, and the recognition session to feed its audio to."""

    principal: Principal
    session: StreamingSession
    _new_session: Callable[[StreamOptions], StreamingSession] | None = field(default=None, repr=False)
    _earlier_seconds: float = 0.0  # the audio of the sessions that ``restart`` replaced

    @property
    def audio_seconds(self) -> float:
        """The audio this stream received, over all its sessions (what is metered)."""
        return self._earlier_seconds + self.session.audio_seconds

    def restart(self, options: StreamOptions) -> StreamingSession:
        """Replace the session with a fresh one on ``options`` (hotwords merged with the lists as at admission),
        for protocols whose clients change their settings or drop their buffered audio mid-stream: the stream
        keeps its slot, and the audio so far stays metered."""
        assert self._new_session is not None, "only admitted_stream makes restartable streams"
        self._earlier_seconds += self.session.audio_seconds
        self.session = self._new_session(options)
        return self.session


@dataclass
class StreamLag:
    """How far a stream's recognition is behind its audio, frame by frame, for ``StreamingSession.accept`` (it
    sheds work by it): how long the frame being processed has waited since it arrived, counted only as far as it
    puts the stream behind live (a client sending a file faster than real time is ahead of live, not behind; one
    that paused sending has frames that did not wait)."""

    live_start: float | None = None  # when the stream's audio began, were it sent live (time.monotonic())
    worst: float = field(default=0.0)  # the largest lag so far

    def measure(self, arrived: float, seconds: float, processed: float) -> float:
        """The lag of a frame of ``seconds`` that arrived at ``arrived`` (``time.monotonic()``), ``processed``
        seconds into the stream; StreamTooSlowError past ``MAX_BACKLOG_S``."""
        self.live_start = arrived - seconds if self.live_start is None else self.live_start
        now = time.monotonic()
        behind_live = now - (self.live_start + processed + seconds)
        lag = max(0.0, min(now - arrived, behind_live))
        self.worst = max(self.worst, lag)
        if lag > MAX_BACKLOG_S:
            raise StreamTooSlowError(
                f"the server fell {lag:.0f} s behind this stream's audio; send less, or retry later"
            )
        return lag


def principal_for_tenant(database: Database, name: str) -> Principal:
    """The principal of a listener that acts for one tenant the operator named (clients that send no key):
    created if it does not exist yet, its limits read afresh for every connection."""
    with database.session() as session:
        return tenants.principal_of(tenants.get_or_create_tenant(session, name), f"listener:{name}", admin=False)


@asynccontextmanager
async def admitted_stream(
    app: Starlette,
    principal: Principal,
    options: StreamOptions,
    hotword_list_names: Sequence[str] = (),
    capability: str = STREAM_CAPABILITY,
    session_class: type[StreamingSession] = StreamingSession,
) -> AsyncIterator[AdmittedStream]:
    """Admit ``principal``'s stream on ``app``: count it against the tenant's rate, check that its daily audio
    quota has room, merge ``options.hotwords`` with the named lists and the tenant's default list, take a stream
    slot and load the recognizer; on exit give the slot back and meter the audio the session received as
    ``capability`` (also when the client left mid-stream: that audio was recognized all the same).
    ``session_class``: what recognizes the stream, StreamingSession or a subclass of it.

    Raises ShengguError subclasses before yielding (nothing is held then); the body's own errors pass through."""
    state = app.state
    state.rate_limiter.check(principal)
    with state.db.session() as db_session:
        check_audio(db_session, principal, 1.0)
        lists = hotword_list_names
        options.hotwords = hotword_lists.words_for(db_session, principal.tenant_id, lists, options.hotwords)
    if not state.stream_slots.acquire():
        raise TooManyStreamsError("the server is at its stream limit; retry later")
    admitted: AdmittedStream | None = None
    try:
        recognizer = await run_in_threadpool(Engines(state.settings).recognizer)

        def new_session(restarted: StreamOptions) -> StreamingSession:
            with state.db.session() as db_session:
                words = hotword_lists.words_for(db_session, principal.tenant_id, lists, restarted.hotwords)
            return session_class(recognizer, replace(restarted, hotwords=words))

        admitted = AdmittedStream(principal, session_class(recognizer, options), new_session)
        yield admitted
    finally:
        state.stream_slots.release()
        seconds = admitted.audio_seconds if admitted is not None else 0.0
        if seconds:  # in the loop, not a thread: a cancelled connection must still be metered
            with state.db.session() as db_session:
                usage.record(db_session, principal.tenant_id, capability, seconds)
            add_audio_seconds(app, capability, seconds)


def language_of(requested: str | None) -> str | None:
    """A client's language tag as shenggu's (``zh-CN``, ``zh_Hans`` → ``zh``; ``en-US`` → ``en``; none or
    ``auto``: detect); InvalidOptionError for a language shenggu does not recognize."""
    if not requested or requested.lower() == "auto":
        return None
    primary = requested.replace("_", "-").split("-")[0].lower()
    if primary not in SUPPORTED_LANGUAGES:
        raise InvalidOptionError(
            f"unsupported language '{requested[:20]}' (choose from: {', '.join(SUPPORTED_LANGUAGES)})"
        )
    return primary
