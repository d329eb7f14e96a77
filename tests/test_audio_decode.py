"""Tests of shenggu.audio decoding: every common format, bad inputs, streaming memory (no models)."""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
import wave
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from shenggu.audio import (
    SAMPLE_RATE,
    AudioError,
    AudioFileNotFoundError,
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    SilentAudioError,
    TruncatedAudioError,
    UnsupportedAudioError,
    decode_audio,
    encode_wav,
    iter_audio_chunks,
    probe_duration,
)
from shenggu.errors import ShengguError
from tests.conftest import DATA_DIR

REAL_RECORDING = DATA_DIR / "asr/zh_wenet_BAC009S0724W0121.wav"
SECONDS = 1.5

# (extension, container format, codec, codec sample rate or None for the input rate, add a video track)
FORMATS = [
    ("wav", "wav", "pcm_s16le", None, False),
    ("flac", "flac", "flac", None, False),
    ("mp3", "mp3", "libmp3lame", None, False),
    ("ogg", "ogg", "libopus", 48000, False),  # Opus only runs at 8/12/16/24/48 kHz
    ("m4a", "ipod", "aac", None, False),
    ("webm", "webm", "libopus", 48000, False),
    ("mp4", "mp4", "aac", None, True),  # audio track next to a video track
]
INPUTS = [(44100, 2), (8000, 1)]


def make_signal(rate: int, seconds: float = SECONDS) -> np.ndarray:
    """A 440 Hz tone (amplitude 0.5) plus a quieter 200→1500 Hz chirp."""
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    chirp = 0.1 * np.sin(2 * np.pi * (200 * t + (1500 - 200) / (2 * seconds) * t * t))
    return (tone + chirp).astype(np.float32)


def encode_file(
    path: Path, fmt: str, codec: str, rate: int, channels: int, codec_rate: int | None = None, video: bool = False
) -> Path:
    """Encode the test signal with PyAV (which resamples to the codec's own rate and sample format)."""
    layout = "mono" if channels == 1 else "stereo"
    data = np.tile(make_signal(rate), (channels, 1))
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=codec_rate or rate, layout=layout)
        if video:
            vstream = container.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
            for i in range(int(SECONDS * 10)):
                image = np.full((64, 64, 3), i * 10, dtype=np.uint8)
                for packet in vstream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            container.mux(vstream.encode())
        for start in range(0, data.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data[:, start : start + 1024]), format="fltp", layout=layout
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def best_correlation(audio: np.ndarray, reference: np.ndarray, max_lag: int = 2000) -> float:
    """Highest normalised cross-correlation over lags up to ``max_lag`` samples (codec delay)."""
    n = len(audio) + len(reference)
    spectrum = np.fft.rfft(audio, n) * np.conj(np.fft.rfft(reference, n))
    corr = np.fft.irfft(spectrum, n)
    corr = np.concatenate([corr[-max_lag:], corr[: max_lag + 1]])
    return float(corr.max() / (np.linalg.norm(audio) * np.linalg.norm(reference)))


def dominant_frequency(audio: np.ndarray) -> float:
    window = audio[:SAMPLE_RATE] * np.hanning(SAMPLE_RATE)  # 1 s → 1 Hz bins
    return float(np.argmax(np.abs(np.fft.rfft(window))) * SAMPLE_RATE / SAMPLE_RATE)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int, int], Path]:
    folder = tmp_path_factory.mktemp("encoded")
    return {
        (ext, rate, channels): encode_file(
            folder / f"tone_{rate}_{channels}.{ext}", fmt, codec, rate, channels, codec_rate, video
        )
        for ext, fmt, codec, codec_rate, video in FORMATS
        for rate, channels in INPUTS
    }


def assert_single_line(error: AudioError) -> None:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    assert isinstance(error, ShengguError) and error.code and error.http_status >= 400


# ------------------------------------------------------------------------------------------ formats


@pytest.mark.parametrize(("rate", "channels"), INPUTS)
@pytest.mark.parametrize("ext", [f[0] for f in FORMATS])
def test_decodes_every_format(encoded: dict, ext: str, rate: int, channels: int) -> None:
    audio = decode_audio(encoded[(ext, rate, channels)])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - SECONDS * SAMPLE_RATE) <= 0.03 * SECONDS * SAMPLE_RATE  # codec padding
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert abs(dominant_frequency(audio) - 440) <= 3
    reference = make_signal(SAMPLE_RATE)
    assert best_correlation(audio, reference) > 0.9
    # Stereo is averaged, not summed: the level matches the (identical) channels.
    assert 0.85 < np.sqrt(np.mean(audio**2)) / np.sqrt(np.mean(reference**2)) < 1.15


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_lossless_formats_are_accurate(encoded: dict, ext: str) -> None:
    audio = decode_audio(encoded[(ext, 8000, 1)])
    assert len(audio) == SECONDS * SAMPLE_RATE
    assert best_correlation(audio, make_signal(SAMPLE_RATE)) > 0.99


def test_real_recording() -> None:
    audio = decode_audio(REAL_RECORDING)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - 4.28) < 0.02
    assert 0.01 < np.abs(audio).max() <= 1.0
    assert probe_duration(REAL_RECORDING) == pytest.approx(4.28, abs=0.02)


def test_bytes_and_file_objects_match_path(encoded: dict) -> None:
    path = encoded[("flac", 44100, 2)]
    data = path.read_bytes()

    class Pipe:
        """A non-seekable reader, like a socket or stdin."""

        def __init__(self, payload: bytes) -> None:
            self._buffer = io.BytesIO(payload)

        def read(self, size: int = -1) -> bytes:
            return self._buffer.read(size)

    expected = decode_audio(path)
    seekable = io.BytesIO(data)
    seekable.seek(100)  # seekable file objects are read from the start
    for source in (data, bytearray(data), seekable, Pipe(data), str(path)):
        np.testing.assert_array_equal(decode_audio(source), expected)


def test_probe_duration(encoded: dict) -> None:
    assert probe_duration(encoded[("wav", 44100, 2)]) == pytest.approx(SECONDS, abs=0.01)
    assert probe_duration(encoded[("m4a", 8000, 1)]) == pytest.approx(SECONDS, abs=0.05)
    assert probe_duration(encoded[("webm", 44100, 2)]) == pytest.approx(SECONDS, abs=0.05)


def test_encode_wav_round_trip() -> None:
    signal = make_signal(SAMPLE_RATE) * 1.5  # goes beyond ±1: clipped on encoding
    data = encode_wav(signal)
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, SAMPLE_RATE)
    audio = decode_audio(data)
    np.testing.assert_allclose(audio, np.clip(signal, -1, 1), atol=1e-3)


def test_float_wav_is_clipped_and_finite() -> None:
    samples = make_signal(SAMPLE_RATE) * 2.5  # peaks at 1.5
    samples[100], samples[200], samples[300] = np.nan, np.inf, -np.inf
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as container:
        stream = container.add_stream("pcm_f32le", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, 0, Fraction(1, SAMPLE_RATE)
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    audio = decode_audio(buffer.getvalue())
    assert len(audio) == len(samples) and np.isfinite(audio).all()
    assert audio.max() == 1.0 and audio.min() == -1.0
    assert (audio[100], audio[200], audio[300]) == (0.0, 1.0, -1.0)


# ---------------------------------------------------------------------------------------- streaming


@pytest.mark.slow
def test_streaming_chunks_keep_memory_flat(tmp_path: Path) -> None:
    minutes = 10
    path = tmp_path / "long.wav"
    t = np.arange(SAMPLE_RATE * 10) / SAMPLE_RATE
    block = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as writer:  # written in 10 s pieces, never whole in memory
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        for _ in range(minutes * 6):
            writer.writeframes(block)

    whole_bytes = minutes * 60 * SAMPLE_RATE * 4  # 38.4 MB as float32
    sizes = []
    tracemalloc.start()
    try:
        for chunk in iter_audio_chunks(path, chunk_seconds=30):
            assert chunk.dtype == np.float32 and chunk.ndim == 1
            sizes.append(len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes == [30 * SAMPLE_RATE] * (minutes * 2)
    assert peak < 20e6 < whole_bytes  # a few chunks at most (measured ≈ 6 MB)


def test_chunk_sizes_and_last_chunk(encoded: dict) -> None:
    chunks = list(iter_audio_chunks(encoded[("wav", 44100, 2)], chunk_seconds=0.4))
    assert [len(c) for c in chunks] == [6400, 6400, 6400, 4800]
    np.testing.assert_array_equal(np.concatenate(chunks), decode_audio(encoded[("wav", 44100, 2)]))
    with pytest.raises(ValueError):
        next(iter_audio_chunks(encoded[("wav", 44100, 2)], chunk_seconds=0))


def test_max_seconds(encoded: dict) -> None:
    path = encoded[("wav", 8000, 1)]
    with pytest.raises(AudioTooLongError) as info:  # rejected from the header, before decoding
        decode_audio(path, max_seconds=1.0)
    assert info.value.code == "audio_too_long" and info.value.http_status == 413
    assert_single_line(info.value)
    assert len(decode_audio(path, max_seconds=SECONDS)) == SECONDS * SAMPLE_RATE

    # A streamed WAV (sizes 0xFFFFFFFF) read from a pipe has no known duration: the decoded audio counts.
    data = bytearray(encode_wav(make_signal(SAMPLE_RATE, 3.0)))
    data[4:8] = data[40:44] = b"\xff\xff\xff\xff"

    class Pipe(io.RawIOBase):
        def __init__(self, payload: bytes) -> None:
            self._buffer = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._buffer.read(size)

    assert probe_duration(Pipe(bytes(data))) is None
    with pytest.raises(AudioTooLongError):
        decode_audio(Pipe(bytes(data)), max_seconds=2.0)


# ------------------------------------------------------------------------------------------ bad input


def test_empty_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for source in (b"", empty, io.BytesIO()):
        with pytest.raises(EmptyAudioError) as info:
            decode_audio(source)
        assert info.value.code == "empty_audio"
        assert_single_line(info.value)


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    text = "这不是音频。This is a plain text file, not audio.\n" * 50
    path = tmp_path / "notes.txt"
    path.write_text(text, encoding="utf-8")
    for source in (path, text.encode()):
        with pytest.raises(NotAudioError) as info:
            decode_audio(source)
        assert info.value.code == "not_audio"
        assert_single_line(info.value)
    with pytest.raises(NotAudioError, match=r"notes\.txt"):
        decode_audio(path)


def make_png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    rows = b"".join(b"\x00" + bytes(range(width * 3)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def test_image_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(make_png())
    for source in (path, make_png()):
        with pytest.raises(NotAudioError, match="image"):
            decode_audio(source)


def test_video_without_audio_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent_film.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            image = np.full((64, 64, 3), i * 40, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    with pytest.raises(NotAudioError, match="without an audio track"):
        decode_audio(path)
    with pytest.raises(NotAudioError):
        probe_duration(path)


def test_random_bytes_are_not_audio() -> None:
    # Deterministic pseudo-random bytes (no recognisable magic number at the start).
    data = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(256))
    with pytest.raises(NotAudioError, match="not an audio or video file") as info:
        decode_audio(data, name="blob.bin")
    assert "'blob.bin'" in str(info.value)


def test_wav_cut_in_half_is_truncated(encoded: dict, tmp_path: Path) -> None:
    data = encoded[("wav", 44100, 2)].read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    for source in (path, path.read_bytes()):
        with pytest.raises(TruncatedAudioError) as info:
            decode_audio(source, name="cut.wav")
        assert info.value.code == "truncated_audio"
        assert "'cut.wav'" in str(info.value)
        assert_single_line(info.value)
    with pytest.raises(TruncatedAudioError):
        list(iter_audio_chunks(path))


def test_header_only_files(encoded: dict) -> None:
    # A WAV stopped inside its header is unreadable; a WebM stopped there ends before its audio.
    with pytest.raises(CorruptAudioError):
        decode_audio(encoded[("wav", 8000, 1)].read_bytes()[:40])
    with pytest.raises(TruncatedAudioError):
        decode_audio(encoded[("webm", 8000, 1)].read_bytes()[:40])


@pytest.mark.parametrize("ext", [f[0] for f in FORMATS])
def test_damaged_files_raise_only_audio_errors(encoded: dict, ext: str) -> None:
    data = encoded[(ext, 44100, 2)].read_bytes()
    garbage = (hashlib.sha256(b"garbage").digest() * (len(data) // 320 + 1))[: len(data) // 10]
    middle = len(data) // 3
    damaged = {
        "half": data[: len(data) // 2],
        "garbage": data[:middle] + garbage + data[middle + len(garbage) :],
    }
    for kind, payload in damaged.items():
        try:
            audio = decode_audio(payload, name=f"{kind}.{ext}")
        except (TruncatedAudioError, CorruptAudioError) as error:
            assert_single_line(error)
            assert f"'{kind}.{ext}'" in str(error)
        else:  # FFmpeg concealed the damage
            assert audio.dtype == np.float32 and np.isfinite(audio).all()


def test_mp3_with_garbage_in_the_middle(encoded: dict) -> None:
    data = bytearray(encoded[("mp3", 44100, 2)].read_bytes())
    n = len(data)
    data[n // 3 : n // 3 + n // 10] = (hashlib.sha256(b"x").digest() * (n // 320 + 1))[: n // 10]
    try:
        audio = decode_audio(bytes(data), name="noisy.mp3")
    except CorruptAudioError as error:
        assert_single_line(error)
    else:  # FFmpeg's MP3 decoder resynchronises on the next frame header
        assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) > 0.5 * SECONDS * SAMPLE_RATE


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(AudioFileNotFoundError) as info:
        decode_audio(tmp_path / "nope.wav")
    assert info.value.code == "file_not_found" and info.value.http_status == 404
    assert "nope.wav" in str(info.value)
    with pytest.raises(AudioFileNotFoundError):
        list(iter_audio_chunks(str(tmp_path / "nope.wav")))
    with pytest.raises(AudioFileNotFoundError):
        probe_duration(tmp_path)  # a directory


def test_error_classes() -> None:
    classes = {
        AudioError: "audio_error",
        AudioFileNotFoundError: "file_not_found",
        EmptyAudioError: "empty_audio",
        TruncatedAudioError: "truncated_audio",
        CorruptAudioError: "corrupt_audio",
        NotAudioError: "not_audio",
        SilentAudioError: "no_speech",
        UnsupportedAudioError: "unsupported_audio",
        AudioTooLongError: "audio_too_long",
    }
    for cls, code in classes.items():
        assert issubclass(cls, AudioError) and cls.code == code and cls.__doc__
        error = cls("could not decode 'a\nb.mp3'\n  at 1.2 s")
        assert str(error) == "could not decode 'a b.mp3' at 1.2 s"
        assert_single_line(error)
    assert str(SilentAudioError()) == "the audio contains only silence"


def test_decode_channels_keeps_the_two_sides_of_a_call_apart():
    from shenggu.audio import decode_channels, probe_channels

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    left = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    right = np.zeros_like(left)
    right[SAMPLE_RATE // 2 :] = 0.25  # the other party speaks in the second half only
    stereo = encode_wav(np.stack([left, right]), 8000)  # 2 s at a telephone rate, resampled to 16 kHz
    sides = decode_channels(stereo)
    assert probe_channels(stereo) == 2 and sides.shape == (2, 2 * SAMPLE_RATE)
    assert np.abs(sides[0]).max() == pytest.approx(0.5, abs=0.01)
    assert np.abs(sides[1][: SAMPLE_RATE // 2]).max() == 0.0 and sides[1][-100:].mean() == pytest.approx(0.25, abs=0.01)
    mono = encode_wav(left)
    assert probe_channels(mono) == 1 and decode_channels(mono).shape == (1, SAMPLE_RATE)
    with pytest.raises(NotAudioError):
        decode_channels(b"plain text, not audio" * 10)
