"""Encoding float32 mono audio as it is produced, for streamed responses: wav, pcm, mp3, flac, opus, aac.

WAV streams with the "unknown length" sizes (0xFFFFFFFF) that players and FFmpeg read to the end of the data, as
OpenAI's speech API does; the compressed formats are muxed by PyAV (FFmpeg) into an in-memory sink that is
drained after every chunk. :func:`pcm16` is the one float → 16-bit PCM conversion: speech output, the assistant's
audio frames, PocketSphinx's input and the benchmarks' WAV files and microphone streams all use it.
"""

from __future__ import annotations

import struct
from typing import ClassVar

import numpy as np

from shenggu.errors import InvalidOptionError

MEDIA_TYPES = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "opus": "audio/ogg",
    "aac": "audio/aac",
}


def pcm16(samples: np.ndarray) -> bytes:
    """Little-endian 16-bit PCM of float samples in [-1, 1] (clipped; NaN as 0)."""
    values = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    return (values * 32767.0).round().astype("<i2").tobytes()


def streaming_wav_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header whose sizes say "until the end of the stream"."""
    unknown = 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", unknown)
    )


class _Sink:
    """A write-only file object collecting what the muxer writes, drained by the encoder."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def drain(self) -> bytes:
        out, self.data = bytes(self.data), bytearray()
        return out


class StreamingEncoder:
    """Encode successive chunks of one mono stream; ``encode`` returns the bytes ready so far, ``finish`` the rest."""

    _CONTAINERS: ClassVar[dict[str, tuple[str, str]]] = {
        "mp3": ("mp3", "libmp3lame"),
        "flac": ("flac", "flac"),
        "opus": ("ogg", "libopus"),
        "aac": ("adts", "aac"),
    }

    def __init__(self, fmt: str, sample_rate: int) -> None:
        if fmt not in MEDIA_TYPES:
            raise InvalidOptionError(f"unsupported response_format '{fmt}' (choose from: {', '.join(MEDIA_TYPES)})")
        self.format, self.sample_rate = fmt, sample_rate
        self._started = False
        self._container = None
        if fmt in self._CONTAINERS:
            self._open(*self._CONTAINERS[fmt])

    def _open(self, container_format: str, codec: str) -> None:
        import av

        self._sink = _Sink()
        self._container = av.open(self._sink, mode="w", format=container_format)
        # mp3, opus and aac take only some rates: the nearest one (the resampler below converts), so a request
        # for 47999 Hz mp3 gets 48000 Hz rather than an encoder error.
        rates = av.codec.Codec(codec, "w").audio_rates
        rate = min(rates, key=lambda r: abs(r - self.sample_rate)) if rates else self.sample_rate
        self._stream = self._container.add_stream(codec, rate=rate, layout="mono")
        self._resampler = av.AudioResampler(
            format=self._stream.codec_context.format.name, layout="mono", rate=rate, frame_size=self._frame_size()
        )

    def _frame_size(self) -> int | None:
        size = self._stream.codec_context.frame_size
        return size or None

    def encode(self, samples: np.ndarray) -> bytes:
        """Bytes of this chunk (with the header before the first one, for wav)."""
        if self._container is None:
            data = pcm16(samples)
            if self.format == "wav" and not self._started:
                data = streaming_wav_header(self.sample_rate) + data
            self._started = True
            return data
        return self._mux(samples)

    def finish(self) -> bytes:
        """The encoder's remaining bytes (the trailer of a container)."""
        if self._container is None:
            return b"" if self._started or self.format == "pcm" else streaming_wav_header(self.sample_rate)
        out = self._mux(None)
        self._container.close()
        return out + self._sink.drain()

    def _mux(self, samples: np.ndarray | None) -> bytes:
        import av

        frames = []
        if samples is not None and len(samples):
            frame = av.AudioFrame.from_ndarray(
                np.asarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = self.sample_rate
            frames = self._resampler.resample(frame)
        elif samples is None:
            frames = self._resampler.resample(None)  # flush the resampler's buffered tail
        for frame in frames:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        if samples is None:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        return self._sink.drain()
