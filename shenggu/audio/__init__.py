"""Audio input: decode any common audio/video file to 16 kHz mono float32, with one-line errors."""

from shenggu.audio.decode import (
    SAMPLE_RATE,
    AudioSource,
    decode_audio,
    decode_channels,
    encode_wav,
    iter_audio_chunks,
    probe_channels,
    probe_duration,
)
from shenggu.audio.errors import (
    AudioError,
    AudioFileNotFoundError,
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    InvalidAudioError,
    NotAudioError,
    SilentAudioError,
    TruncatedAudioError,
    UnsupportedAudioError,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioError",
    "AudioFileNotFoundError",
    "AudioSource",
    "AudioTooLongError",
    "CorruptAudioError",
    "EmptyAudioError",
    "InvalidAudioError",
    "NotAudioError",
    "SilentAudioError",
    "TruncatedAudioError",
    "UnsupportedAudioError",
    "decode_audio",
    "decode_channels",
    "encode_wav",
    "iter_audio_chunks",
    "probe_channels",
    "probe_duration",
]
