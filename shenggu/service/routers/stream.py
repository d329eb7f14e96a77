"""Streaming recognition over WebSocket: ``/v1/audio/stream`` (protocol in the README).

The client sends binary PCM frames and finally ``{"type": "end"}``; the server answers with ``partial`` and
``final`` messages, then ``done``. Every fault ends with an ``error`` message and a WebSocket close code.

A reader task takes frames off the socket as they arrive, stamped with their arrival, so the stream's lag is
known: how long the frame being processed has waited, counted only as far as it puts the stream behind live
(a client sending a file faster than real time is ahead of live, not behind; one that paused sending has
frames that did not wait). The session sheds work by it (``StreamOptions.shedding``); each final reports it
(``lag_ms``) with where its time went (``timing``); past ``Shedding.warn_s`` the client gets a ``warning``, and
a stream ``MAX_BACKLOG_S`` behind is ended (``too_slow``): its text would come too late to be of use, and its
work slows every other stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from shenggu.asr.streaming import Final, Partial, StreamingSession, StreamOptions
from shenggu.audio import SAMPLE_RATE
from shenggu.errors import BadStreamError, ShengguError
from shenggu.logs import get_logger
from shenggu.service.auth import authenticate_key
from shenggu.service.deps import SettingsDep
from shenggu.service.observability import set_stream_lag
from shenggu.service.sockets import CLOSE_ERROR as _CLOSE_ERROR
from shenggu.service.sockets import fail as _fail
from shenggu.service.sockets import pcm_samples, refuse, sample_rate_of
from shenggu.service.sockets import resampler_to_16k as _resampler
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.stream_admission import StreamLag, admitted_stream
from shenggu.text.lists import split_commas

router = APIRouter(tags=["stream"])
log = get_logger("shenggu.stream")

_QUEUED_FRAMES = 64  # frames read ahead of the recognizer; beyond them the socket itself holds the client back


def stream_options(websocket: WebSocket) -> tuple[StreamOptions, int]:
    """The stream options and sample rate a client asked for in the query string (raises BadStreamError)."""
    params = websocket.query_params
    if params.get("format", "pcm_s16le") != "pcm_s16le":
        raise BadStreamError("format must be pcm_s16le (raw 16-bit little-endian mono PCM)")
    sample_rate = sample_rate_of(websocket)
    hotwords = hotword_lists.clean_words(params.get("hotwords", ""))
    raw_silence = params.get("end_silence_ms", "")
    end_silence = int(raw_silence) if raw_silence.isdigit() else StreamOptions.end_silence_ms
    return StreamOptions(
        language=params.get("language") or None, hotwords=hotwords, end_silence_ms=end_silence
    ), sample_rate


async def _send_event(websocket: WebSocket, event: Partial | Final) -> None:
    if isinstance(event, Partial):
        await websocket.send_json({"type": "partial", "text": event.text, "start": event.start})
        return
    segment = event.segment
    data = {
        "type": "final",
        "text": segment.text,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "words": [
            {"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word, "probability": round(w.probability, 4)}
            for w in segment.words
        ],
    }
    if event.timing is not None:
        data["lag_ms"] = round(1000 * event.timing.backlog)
        data["timing"] = event.timing.to_dict()
    await websocket.send_json(data)


@router.websocket("/v1/audio/stream")
async def stream(websocket: WebSocket, settings: SettingsDep) -> None:
    """Recognize a live audio stream (see the module docstring and the README for the protocol)."""
    await websocket.accept()
    try:
        principal = await run_in_threadpool(authenticate_key, websocket)
        options, sample_rate = stream_options(websocket)
    except ShengguError as exc:
        await refuse(websocket, exc)
        return
    lists = split_commas(websocket.query_params.get("hotword_lists", ""))
    try:
        async with admitted_stream(
            websocket.app, principal, options, lists, session_class=StreamingSession
        ) as admitted:
            await serve_frames(websocket, admitted.session, _resampler(sample_rate), settings.stream_idle_seconds)
    except ShengguError as exc:
        await refuse(websocket, exc)
    except WebSocketDisconnect:
        log.info("stream client left", tenant=principal.tenant_name)
    except Exception:
        log.exception("stream failed")
        await _fail(websocket, "internal_error", "internal error; the server log has details", _CLOSE_ERROR)


@dataclass(frozen=True)
class _Frame:
    """A message as the reader took it off the socket: PCM bytes, or None for the end message."""

    data: bytes | None
    arrived: float  # time.monotonic()


async def serve_frames(websocket: WebSocket, session: StreamingSession, resampler, idle_seconds: float) -> float:
    """Recognize the frames the reader queues, in order, sending each event as a message; returns the audio
    seconds processed. Live dictation runs the same loop on a socket that adds its own messages."""
    frames: asyncio.Queue[_Frame | Exception] = asyncio.Queue(maxsize=_QUEUED_FRAMES)
    reader = asyncio.create_task(_read(websocket, idle_seconds, frames))
    warn_s = session.options.shedding.warn_s
    warned = False
    lags = StreamLag()
    try:
        while True:
            frame = await frames.get()
            if isinstance(frame, Exception):
                raise frame
            if frame.data is None:
                for event in await run_in_threadpool(session.finish):
                    await _send_event(websocket, event)
                await websocket.send_json({"type": "done", "lag_ms_max": round(1000 * lags.worst)})
                await websocket.close(1000)
                return session.audio_seconds
            samples = pcm_samples(frame.data, resampler)
            lag = lags.measure(frame.arrived, len(samples) / SAMPLE_RATE, session.audio_seconds)
            set_stream_lag(websocket, id(session), lag)
            if lag >= warn_s and not warned:
                await websocket.send_json(_lagging(lag))
            warned = lag >= warn_s / 2 and (warned or lag >= warn_s)  # again only once it caught up
            for event in await run_in_threadpool(session.accept, samples, lag):
                await _send_event(websocket, event)
    finally:
        reader.cancel()
        set_stream_lag(websocket, id(session), None)


def _lagging(backlog: float) -> dict:
    return {
        "type": "warning",
        "code": "falling_behind",
        "message": f"recognition is {backlog:.1f} s behind this stream's audio: partials and speculative decodes "
        "are paused and finals decoded with a narrower beam until it catches up",
        "lag_ms": round(1000 * backlog),
    }


async def _read(websocket: WebSocket, idle_seconds: float, frames: asyncio.Queue[_Frame | Exception]) -> None:
    """Queue the client's frames as they arrive, until its end message; a fault is queued as the exception."""
    try:
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=idle_seconds)
            except TimeoutError:
                raise BadStreamError(f"no data for {idle_seconds:.0f} s; closing the idle stream") from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                await frames.put(_Frame(data, time.monotonic()))
            elif text is not None:
                try:
                    command = json.loads(text)
                except json.JSONDecodeError:
                    raise BadStreamError('text messages must be JSON, e.g. {"type": "end"}') from None
                if not isinstance(command, dict) or command.get("type") != "end":
                    raise BadStreamError('the only text message is {"type": "end"}')
                await frames.put(_Frame(None, time.monotonic()))
                return
    except Exception as exc:  # the server side reports it, after the frames before it
        await frames.put(exc)
