"""Errors of the audio-input capability.

Every class has a stable ``code`` (used by the HTTP layer and the CLI) and a one-line, human-readable
message that names the file when it is known. Messages never carry FFmpeg's internal tracebacks.
"""

from __future__ import annotations

from shenggu.errors import ShengguError


class AudioError(ShengguError):
    """Base class of every problem with an input recording (unreadable, damaged, empty, too long...)."""

    code = "audio_error"
    http_status = 400

    def __init__(self, message: str, decoded_seconds: float = 0.0) -> None:
        # Keep messages to one line even if FFmpeg's own text (or a file name) contains newlines.
        super().__init__(" ".join(str(message).split()))
        # Audio decoded (and perhaps recognized) before the problem was found: the service meters it, since
        # that work was done (a file without speech is decoded and searched to its end).
        self.decoded_seconds = decoded_seconds


class AudioFileNotFoundError(AudioError):
    """The given path does not exist (or is not a regular file)."""

    code = "file_not_found"
    http_status = 404


class EmptyAudioError(AudioError):
    """The input has zero bytes, or a valid container holds no audio frames at all."""

    code = "empty_audio"
    http_status = 422


class TruncatedAudioError(AudioError):
    """The recording stops before its end: decoding failed after some audio was produced, or the header
    declares noticeably more audio than the file holds (typically an interrupted upload or copy)."""

    code = "truncated_audio"
    http_status = 422


class CorruptAudioError(AudioError):
    """The container is recognized (WAV, MP3, MP4...) but its data cannot be decoded."""

    code = "corrupt_audio"
    http_status = 422


class NotAudioError(AudioError):
    """The input is not a media file at all (text, PNG...), or it is a media file without an audio stream."""

    code = "not_audio"
    http_status = 415


class InvalidAudioError(AudioError):
    """The header describes audio no recording of speech has: a sample rate outside 8-384 kHz, or no channel or
    more than 8 (7.1). Refused before decoding: a 16 KB WAV claiming 1 Hz would otherwise decode to hours."""

    code = "invalid_audio"
    http_status = 422


class UnsupportedAudioError(AudioError):
    """The file is a media file but its audio codec cannot be decoded by the bundled FFmpeg."""

    code = "unsupported_audio"
    http_status = 415


class AudioTooLongError(AudioError):
    """The recording is longer than the limit the caller allows (e.g. for a synchronous request)."""

    code = "audio_too_long"
    http_status = 413


class SilentAudioError(AudioError):
    """The audio decodes fine but holds no speech (silence or noise only); raised by callers such as VAD."""

    code = "no_speech"
    http_status = 422

    def __init__(self, message: str = "the audio contains only silence", decoded_seconds: float = 0.0) -> None:
        super().__init__(message, decoded_seconds)
