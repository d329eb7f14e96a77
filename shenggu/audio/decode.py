"""Decode any common audio (or video) file to 16 kHz mono float32, streaming.

PyAV bundles FFmpeg, so WAV, FLAC, MP3, OGG/Opus/Vorbis, M4A/AAC, WebM and the audio track of MP4/MKV
all go through one path: demux packet by packet, decode, convert every frame to 16 kHz mono float with
FFmpeg's resampler, and hand out fixed-size chunks. Nothing keeps the whole recording in memory, so a
two-hour meeting costs the same few megabytes as a ten-second clip.

Inputs are always handed to FFmpeg as Python file objects (never as URLs), so a caller-supplied
"path" can never make FFmpeg open a network protocol or a ``concat:`` list.

FFmpeg failures are mapped to the one-line errors of :mod:`shenggu.audio.errors`:

* zero bytes, or a valid container without any audio frame → :class:`EmptyAudioError`;
* a header announcing audio no speech recording has (a sample rate outside 8–384 kHz, no channel or more
  than 8) → :class:`InvalidAudioError`, before anything is decoded (a 16 KB WAV whose header says 1 Hz would
  otherwise decode to more than two hours of audio);
* no recognisable container, or a media file without an audio track (image, text, silent video)
  → :class:`NotAudioError`;
* a recognisable audio header (RIFF/WAVE, fLaC, OggS, ID3, MP4 ``ftyp``...) that FFmpeg cannot open,
  or bad packets inside the stream followed by missing audio → :class:`CorruptAudioError`;
* a file that ends early → :class:`TruncatedAudioError`: the file ends before the first audio packet,
  the demuxer hits end-of-file mid-packet, or less than 90 % of the duration declared by a reliable
  header (WAV data-chunk size, FLAC STREAMINFO, MP4 index, Matroska, OGG last page) was decoded.
  FFmpeg clamps a cut WAV's duration to the bytes present, so WAV chunk headers are read here.

Isolated bad packets are skipped, as the ``ffmpeg`` tool does, so a recording with a small damaged
stretch still decodes (with a short glitch) instead of failing as a whole. MP3 is never reported as
truncated: without a reliable length in its header, a cut or damaged MP3 simply decodes shorter.
Because truncation is only known at the end, :func:`iter_audio_chunks` may raise it after yielding.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import numpy as np

from shenggu.audio.encode import pcm16
from shenggu.audio.errors import (
    AudioError,
    AudioFileNotFoundError,
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    InvalidAudioError,
    NotAudioError,
    TruncatedAudioError,
    UnsupportedAudioError,
)

SAMPLE_RATE = 16000

AudioSource = str | os.PathLike | bytes | BinaryIO

# Bytes read ahead to recognise a container by its magic number.
_HEAD_BYTES = 16
# FFmpeg's I/O buffer for Python file objects; larger than the 32 KiB default to cut callback overhead.
_IO_BUFFER = 256 * 1024
# Less than this fraction of the header-declared duration decoded means the file was cut short.
_MIN_DECODED_FRACTION = 0.9
# Below this declared duration the truncation check is skipped (codec priming dominates tiny files).
_MIN_DECLARED_SECONDS = 0.5
# Give up as corrupt once this many packets failed and failures outnumber successes.
_MAX_BAD_PACKETS = 20
# Containers whose declared duration comes from the header/index rather than a bitrate estimate,
# so a shortfall really means missing data (a VBR MP3's estimate can be off by far more than 10 %).
# OGG counts: its duration comes from the last page, so it is only ever short of the truth (chained files).
_RELIABLE_DURATION_FORMATS = ("wav", "w64", "flac", "ogg", "mov", "mp4", "m4a", "matroska", "webm", "aiff", "caf")
# The sample rates and channel counts of real recordings: telephone audio (8 kHz) up to 384 kHz studio masters,
# mono up to 7.1 (FFmpeg's resampler cannot downmix more than 8 channels of unknown layout anyway).
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 384000
MAX_CHANNELS = 8
# Normalise the downmix matrix so stereo becomes (L + R) / 2; FFmpeg's default (L + R) / √2 would
# clip loud recordings whose channels are alike.
_RESAMPLER_OPTIONS = {"rematrix_maxval": "1.0"}
# The output layouts decoding offers: mono for everything, stereo for calls recorded one party per channel.
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2}


# --------------------------------------------------------------------------------------------- input


class _PrefixedReader:
    """A read-only file object that first replays the bytes already read for sniffing, then the rest.

    Used for non-seekable streams (pipes, sockets), which FFmpeg then reads without seeking.
    """

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


def _is_seekable(fileobj: BinaryIO) -> bool:
    try:
        return bool(fileobj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


@contextmanager
def _open_input(source: AudioSource, name: str | None) -> Iterator[tuple[BinaryIO, str, bytes]]:
    """Yield ``(file object, label for messages, first bytes)``; closes files it opened itself."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        label = f"'{name}'" if name else "the audio data"
        if not data:
            raise EmptyAudioError(f"{label} is empty (0 bytes)")
        yield io.BytesIO(data), label, data[:_HEAD_BYTES]
        return

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = f"'{name or os.fspath(source)}'"
        if not path.exists():
            raise AudioFileNotFoundError(f"audio file not found: {label}")
        if not path.is_file():
            raise AudioFileNotFoundError(f"{label} is not a regular file")
        try:
            fileobj = path.open("rb")
        except OSError as exc:
            raise AudioError(f"cannot read {label}: {exc.strerror or exc}") from exc
        with fileobj:
            head = fileobj.read(_HEAD_BYTES)
            if not head:
                raise EmptyAudioError(f"{label} is empty (0 bytes)")
            fileobj.seek(0)
            yield fileobj, label, head
        return

    # A file object (e.g. an upload's SpooledTemporaryFile). Seekable ones are read from the start,
    # because FFmpeg's seeks are absolute offsets.
    fname = name or getattr(source, "name", None)
    label = f"'{fname}'" if isinstance(fname, str) and fname else "the audio stream"
    if _is_seekable(source):
        source.seek(0)
        head = source.read(_HEAD_BYTES)
        source.seek(0)
        reader: BinaryIO = source
    else:
        head = source.read(_HEAD_BYTES)
        reader = _PrefixedReader(head, source)  # type: ignore[assignment]
    if not head:
        raise EmptyAudioError(f"{label} is empty (0 bytes)")
    yield reader, label, head


def _sniff_container(head: bytes) -> str | None:
    """Name the audio container announced by the first bytes, or None if it is not a known one."""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "OGG"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "WebM/Matroska"
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[:4] == b"caff":
        return "CAF"
    if head[:5] == b"#!AMR":
        return "AMR"
    if head[:3] == b"ID3":
        return "MP3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio / ADTS frame sync
        return "MP3/AAC"
    return None


def _wav_extent(fileobj: BinaryIO) -> tuple[float, float] | None:
    """``(declared, present)`` seconds of a seekable RIFF/WAVE file's data chunk, from its chunk headers.

    FFmpeg silently clamps a WAV's duration to the bytes present, so a cut-short WAV has to be spotted
    here. Returns None when the header is unusual (streamed WAVs with size 0 or 0xFFFFFFFF, RF64...).
    """
    try:
        size = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(12)
        byte_rate = 0
        for _ in range(64):  # a handful of chunks (fmt, LIST, fact...) precede the data in practice
            header = fileobj.read(8)
            if len(header) < 8:
                return None
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"data":
                if not byte_rate or chunk_size in (0, 0xFFFFFFFF):
                    return None
                present = max(0, min(chunk_size, size - fileobj.tell()))
                return chunk_size / byte_rate, present / byte_rate
            if chunk_id == b"fmt " and chunk_size >= 16:
                byte_rate = int.from_bytes(fileobj.read(16)[8:12], "little")
                chunk_size -= 16
            fileobj.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)  # chunks are padded to even sizes
        return None
    except (OSError, ValueError):
        return None
    finally:
        fileobj.seek(0)


def _check_wav_complete(fileobj: BinaryIO, label: str, head: bytes) -> None:
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE" or not _is_seekable(fileobj):
        return
    extent = _wav_extent(fileobj)
    if extent is not None and extent[1] < _MIN_DECODED_FRACTION * extent[0]:
        raise TruncatedAudioError(
            f"{label} is cut short: its header announces {extent[0]:.1f} s but the file holds only {extent[1]:.1f} s"
        )


@contextmanager
def _open_container(fileobj: BinaryIO, label: str, head: bytes) -> Iterator[av.container.InputContainer]:
    """Open ``fileobj`` with FFmpeg, mapping failures to NotAudio/Truncated/Corrupt errors."""
    try:
        container = av.open(fileobj, mode="r", buffer_size=_IO_BUFFER, metadata_errors="replace")
    except av.error.FFmpegError as exc:
        kind = _sniff_container(head)
        if kind is None:
            raise NotAudioError(f"{label} is not an audio or video file") from exc
        if isinstance(exc, av.error.EOFError):
            raise TruncatedAudioError(f"{label} ends before its audio starts ({kind} cut short)") from exc
        raise CorruptAudioError(f"could not read {label}: damaged or incomplete {kind} file") from exc
    with container:
        yield container


def _audio_stream(container: av.container.InputContainer, label: str) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        fmt = container.format.name
        if fmt == "tty":  # FFmpeg "plays" .txt/.nfo files as ANSI art
            raise NotAudioError(f"{label} is a text file, not audio")
        if fmt == "image2" or fmt.endswith("_pipe") or fmt in ("gif", "apng"):
            raise NotAudioError(f"{label} is an image, not audio")
        if container.streams.video:
            raise NotAudioError(f"{label} is a video without an audio track")
        raise NotAudioError(f"{label} has no audio track")
    stream = container.streams.best("audio") or container.streams.audio[0]
    if stream.codec_context is None:
        raise UnsupportedAudioError(f"{label} uses an audio codec that cannot be decoded")
    # 0 means not known from the header: each frame is checked again when decoded.
    _check_format(label, stream.codec_context.sample_rate or None, stream.codec_context.channels)
    return stream


def _check_format(label: str, sample_rate: int | None, channels: int) -> None:
    """Refuse a sample rate or channel count that no recording has (see :class:`InvalidAudioError`)."""
    if sample_rate is not None and not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise InvalidAudioError(
            f"{label} declares a sample rate of {sample_rate} Hz; "
            f"audio must be sampled at {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz"
        )
    if channels > MAX_CHANNELS:
        raise InvalidAudioError(f"{label} has {channels} channels; at most {MAX_CHANNELS} (7.1) are supported")


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    """Duration announced by the header/index (stream first, container second), or None."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _duration_is_reliable(container: av.container.InputContainer) -> bool:
    names = container.format.name.split(",")
    return any(n in _RELIABLE_DURATION_FORMATS for n in names)


# -------------------------------------------------------------------------------------------- decode


def _new_resampler(layout: str = "mono") -> av.AudioResampler:
    try:
        return av.AudioResampler(format="flt", layout=layout, rate=SAMPLE_RATE, options=_RESAMPLER_OPTIONS)
    except TypeError:  # older PyAV takes no options: downmix at FFmpeg's default (L + R) / √2
        return av.AudioResampler(format="flt", layout=layout, rate=SAMPLE_RATE)


def _frame_samples(frames: list[av.AudioFrame | None]) -> Iterator[np.ndarray]:
    for frame in frames:
        if frame is None:  # a pass-through resampler "flushes" to [None]
            continue
        # nan_to_num copies, so the result no longer refers to FFmpeg's frame buffer; float codecs
        # (float WAV, Opus/AAC overshoot) can exceed ±1 or, for broken files, hold NaN/inf.
        samples = np.nan_to_num(frame.to_ndarray().reshape(-1), nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(samples, -1.0, 1.0, out=samples)
        if samples.size:
            yield samples.astype(np.float32, copy=False)


def _iter_decoded(
    source: AudioSource, name: str | None, max_seconds: float | None, layout: str = "mono"
) -> Iterator[np.ndarray]:
    """Yield the audio as variable-length 16 kHz float32 pieces (one per decoded frame; for a ``stereo``
    layout the samples are interleaved left, right)."""
    decoded = 0
    channels = _LAYOUT_CHANNELS[layout]
    with _open_input(source, name) as (fileobj, label, head):
        _check_wav_complete(fileobj, label, head)
        with _open_container(fileobj, label, head) as container:
            try:
                for piece in _decode_container(container, label, max_seconds, layout):
                    decoded += piece.size // channels
                    yield piece
            except AudioError as exc:
                exc.decoded_seconds = decoded / SAMPLE_RATE  # the caller meters the work already done
                raise


def _decode_container(
    container: av.container.InputContainer, label: str, max_seconds: float | None, layout: str = "mono"
) -> Iterator[np.ndarray]:
    channels = _LAYOUT_CHANNELS[layout]
    stream = _audio_stream(container, label)
    declared = _declared_seconds(container, stream)
    if max_seconds is not None and declared is not None and declared > max_seconds * 1.05:
        raise AudioTooLongError(f"{label} lasts about {declared:.0f} s, longer than the {max_seconds:g} s limit")
    # Decoded-sample limit, with a little slack for codec padding/priming.
    max_samples = None if max_seconds is None else int((max_seconds * 1.01 + 0.1) * SAMPLE_RATE)

    resampler: av.AudioResampler | None = None
    input_key: tuple | None = None
    produced = good = bad = trailing_bad = 0
    first_bad_at = 0.0

    def convert(frame: av.AudioFrame | None) -> Iterator[np.ndarray]:
        """The current resampler's output for ``frame`` (None flushes it)."""
        nonlocal produced
        try:
            frames = resampler.resample(frame)
        except av.error.FFmpegError as exc:  # a sample format or layout the resampler cannot convert
            raise UnsupportedAudioError(f"{label} has audio in a form that cannot be converted to mono") from exc
        for samples in _frame_samples(frames):
            produced += samples.size // channels
            if max_samples is not None and produced > max_samples:
                raise AudioTooLongError(f"{label} is longer than the {max_seconds:g} s limit")
            yield samples

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.EOFError as exc:
            raise TruncatedAudioError(
                f"{label} breaks off at {produced / SAMPLE_RATE:.1f} s; the file seems cut short"
            ) from exc
        except av.error.FFmpegError as exc:  # the container itself is garbled
            raise CorruptAudioError(
                f"could not decode {label} (invalid data at {produced / SAMPLE_RATE:.1f} s)"
            ) from exc

        try:
            frames = packet.decode()
        except av.error.DecoderNotFoundError as exc:
            raise UnsupportedAudioError(f"{label} uses an audio codec that cannot be decoded") from exc
        except av.error.FFmpegError as exc:
            # Skip a bad packet like the ffmpeg tool does (a short glitch); give up when most are bad.
            if not bad:
                first_bad_at = produced / SAMPLE_RATE
            bad += 1
            trailing_bad += 1
            if bad >= _MAX_BAD_PACKETS and bad > good:
                raise CorruptAudioError(f"could not decode {label} (invalid data at {first_bad_at:.1f} s)") from exc
            continue
        if packet.size:  # the final empty packets only flush the decoder
            good += 1
            trailing_bad = 0

        for frame in frames:
            # Some streams change layout or rate midway (e.g. AAC 5.1 ↔ stereo); PyAV's resampler is
            # fixed to the first frame's parameters, so flush it and start a new one.
            key = (frame.format.name, frame.layout.name, frame.sample_rate)
            if resampler is None or key != input_key:
                _check_format(label, frame.sample_rate, frame.layout.nb_channels)
                if resampler is not None:
                    yield from convert(None)
                resampler = _new_resampler(layout)
                input_key = key
            yield from convert(frame)

    if resampler is not None:
        yield from convert(None)  # the resampler holds back a few ms

    # Only now is it known whether audio is missing. Bad packets followed by good ones mean damage
    # inside the file (corrupt); a shortfall with at most a broken final packet means it was cut short.
    decoded = produced / SAMPLE_RATE
    shortfall = (
        declared is not None
        and declared >= _MIN_DECLARED_SECONDS
        and decoded < _MIN_DECODED_FRACTION * declared
        and _duration_is_reliable(container)
    )
    if bad > trailing_bad and (shortfall or produced == 0):
        raise CorruptAudioError(f"could not decode {label} (invalid data at {first_bad_at:.1f} s)")
    if shortfall:
        raise TruncatedAudioError(
            f"{label} is incomplete: its header announces {declared:.1f} s "
            f"but only {decoded:.1f} s of audio could be decoded"
        )
    if produced == 0:
        if bad:
            raise CorruptAudioError(f"could not decode {label} (no valid audio packet)")
        raise EmptyAudioError(f"{label} contains no audio")


def iter_audio_chunks(
    source: AudioSource, chunk_seconds: float = 30.0, name: str | None = None
) -> Iterator[np.ndarray]:
    """Decode ``source`` progressively into 16 kHz mono float32 chunks of ``chunk_seconds`` each.

    Every chunk has exactly ``round(chunk_seconds * 16000)`` samples except the last, which may be
    shorter. Memory stays bounded by about one chunk whatever the length of the recording.

    ``source`` is a path, the file's bytes, or a binary file object (seekable ones are read from the
    start); ``name`` is the file name used in error messages. Errors (:class:`AudioError` subclasses)
    can be raised after some chunks were already yielded, e.g. :class:`TruncatedAudioError` is only
    known at the end.
    """
    if chunk_seconds <= 0:
        raise ValueError("chunk_seconds must be positive")
    chunk = max(1, round(chunk_seconds * SAMPLE_RATE))
    pending: list[np.ndarray] = []
    pending_samples = 0
    for piece in _iter_decoded(source, name, max_seconds=None):
        pending.append(piece)
        pending_samples += piece.size
        if pending_samples < chunk:
            continue
        buffer = np.concatenate(pending)
        start = 0
        while buffer.size - start >= chunk:
            yield buffer[start : start + chunk]
            start += chunk
        rest = buffer[start:].copy()  # copy so the yielded chunks' buffer can be freed
        pending, pending_samples = ([rest] if rest.size else []), rest.size
    if pending_samples:
        yield np.concatenate(pending)


def decode_audio(source: AudioSource, name: str | None = None, max_seconds: float | None = None) -> np.ndarray:
    """Decode the whole of ``source`` to one 16 kHz mono float32 array (meant for short clips).

    Raises :class:`AudioTooLongError` when the audio is longer than ``max_seconds`` (checked on the
    header's duration before decoding where it is known, and on the decoded audio in any case; a little
    codec padding is tolerated). Other failures raise the :class:`AudioError` subclasses described in
    this module's docstring.
    """
    pieces = list(_iter_decoded(source, name, max_seconds))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def probe_duration(source: AudioSource, name: str | None = None) -> float | None:
    """The duration in seconds that the file's header/index declares, without decoding; None if unknown.

    Raises :class:`NotAudioError` for files without an audio track and the other input errors
    (missing, empty, unreadable) like :func:`decode_audio`.
    """
    with (
        _open_input(source, name) as (fileobj, label, head),
        _open_container(fileobj, label, head) as container,
    ):
        return _declared_seconds(container, _audio_stream(container, label))


def probe_channels(source: AudioSource, name: str | None = None) -> int:
    """The number of channels the file's audio stream declares, without decoding (errors as
    :func:`probe_duration`)."""
    with (
        _open_input(source, name) as (fileobj, label, head),
        _open_container(fileobj, label, head) as container,
    ):
        return _audio_stream(container, label).codec_context.channels


def decode_channels(source: AudioSource, name: str | None = None, max_seconds: float | None = None) -> np.ndarray:
    """Decode the whole of ``source`` keeping its two sides apart: a ``(2, samples)`` 16 kHz float32 array for a
    recording with two or more channels (more are mixed down to left and right), ``(1, samples)`` for a mono one.

    For call recordings that hold one party per channel. ``source`` is read twice (its header, then the audio),
    so it must be a path or bytes. Errors as :func:`decode_audio`."""
    if probe_channels(source, name) < 2:
        return decode_audio(source, name, max_seconds)[np.newaxis]
    pieces = list(_iter_decoded(source, name, max_seconds, layout="stereo"))
    interleaved = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(interleaved.reshape(-1, 2).T)


def encode_wav(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode a float array (values in [-1, 1]; clipped) as a 16-bit PCM WAV file: mono for a 1-D array, one
    channel per row for a ``(channels, samples)`` one (a stereo call: agent left, customer right)."""
    channels = 1 if audio.ndim == 1 else audio.shape[0]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(int(sample_rate))
        writer.writeframes(pcm16(audio if audio.ndim == 1 else audio.T))  # frames interleave the channels
    return buffer.getvalue()
