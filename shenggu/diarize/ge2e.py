"""GE2E speaker encoder (Resemblyzer's pretrained weights) run in plain numpy.

The weights ship inside the PyPI package ``resemblyzer==0.1.4`` as a legacy (non-zip) torch pickle. They are
read here with a restricted :class:`pickle.Unpickler` that builds numpy arrays, so neither torch nor the
``resemblyzer`` module (whose ``__init__`` imports torch) is ever imported.

The pipeline reproduces Resemblyzer's: volume normalisation to -30 dBFS (increase only), a librosa-compatible
40-band mel power spectrogram (25 ms Hann window, 10 ms hop, centred with zero padding, no log), a 3-layer
LSTM (hidden 256), the last layer's final hidden state through a linear layer, ReLU and L2 normalisation.
Resemblyzer's webrtcvad silence trimming is deliberately left out: shenggu has its own VAD.
"""

from __future__ import annotations

import collections
import importlib.util
import pickle
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from shenggu.errors import InvalidOptionError, ModelError
from shenggu.lazy import once

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
HIDDEN = 256
N_LAYERS = 3
PARTIAL_FRAMES = 160  # 1.6 s: the window length the model was trained on
TARGET_DBFS = -30.0
# embed(): Resemblyzer's embed_utterance defaults (partials per second, minimum coverage of the last partial).
_RATE = 1.3
_MIN_COVERAGE = 0.75
# Windows run through the LSTM together; bounds memory for hour-long recordings.
_BATCH = 256
# Mel frames computed per block (bounds the (frames, n_fft) STFT buffer).
_MEL_BLOCK = 2048

_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL = 1001


# ------------------------------------------------------------------------------------------ weights


class _Storage:
    """A torch storage named in the pickle; its data follows the pickle in the file."""

    __slots__ = ("data", "numel")

    def __init__(self, numel: int) -> None:
        self.numel = numel
        self.data: np.ndarray | None = None


class _TensorRef(NamedTuple):
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple, stride: tuple, *_: Any) -> _TensorRef:
    # Stand-in for torch._utils._rebuild_tensor_v2: the storage bytes are not read yet, so only remember the view.
    return _TensorRef(storage, offset, tuple(size), tuple(stride))


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickler for torch's legacy format that only allows the few globals a float32 state dict needs."""

    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch", "FloatStorage"):
            return np.float32
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the GE2E weights")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage type, key, location, numel, view metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and pid[1] is np.float32):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r} in the GE2E weights")
        if pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported in the GE2E weights")
        return self.storages.setdefault(pid[2], _Storage(int(pid[4])))


def _read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """The ``model_state`` tensors of a legacy-format torch checkpoint, as float32 numpy arrays."""
    storages: dict[str, _Storage] = {}
    with path.open("rb") as f:
        magic = _LegacyUnpickler(f, storages).load()
        protocol = _LegacyUnpickler(f, storages).load()
        sys_info = _LegacyUnpickler(f, storages).load()
        if magic != _TORCH_MAGIC or protocol != _TORCH_PROTOCOL or not sys_info.get("little_endian"):
            raise pickle.UnpicklingError("not a little-endian legacy torch checkpoint")
        checkpoint = _LegacyUnpickler(f, storages).load()
        refs: dict[str, _TensorRef] = dict(checkpoint["model_state"])
        wanted = {id(ref.storage) for ref in refs.values()}
        # Storages follow in the order of this key list, each as an int64 element count and raw float32 data.
        for key in _LegacyUnpickler(f, storages).load():
            (numel,) = struct.unpack("<q", f.read(8))
            storage = storages[key]
            if numel != storage.numel:
                raise pickle.UnpicklingError(f"storage {key} holds {numel} values, expected {storage.numel}")
            if id(storage) in wanted:
                storage.data = np.frombuffer(f.read(4 * numel), dtype="<f4", count=numel)
            else:  # the optimizer state also lives in this file: skip it
                f.seek(4 * numel, 1)

    state = {}
    for name, ref in refs.items():
        data = ref.storage.data
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
        if data is None or last >= len(data):
            raise pickle.UnpicklingError(f"tensor {name} lies outside its storage")
        view = np.lib.stride_tricks.as_strided(
            data[ref.offset :], shape=ref.size, strides=[4 * s for s in ref.stride], writeable=False
        )
        state[name] = np.array(view, dtype=np.float32)
    return state


def weights_path() -> Path:
    """Where ``resemblyzer``'s ``pretrained.pt`` lies; raises :class:`ModelError` when it is not installed."""
    try:
        spec = importlib.util.find_spec("resemblyzer")  # finds the package without running its __init__ (torch)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / "pretrained.pt" if locations else None
    if path is None or not path.is_file():
        raise ModelError(
            "the GE2E speaker-encoder weights (PyPI package resemblyzer==0.1.4) are not installed: run make install"
        )
    return path


# -------------------------------------------------------------------------------------------- audio


def normalize_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise the level of ``samples`` to ``target_dbfs`` RMS (never lower it), as Resemblyzer does."""
    total = 0.0
    for i in range(0, len(samples), 1 << 20):  # float64 sums in blocks: exact enough, no big temporary
        block = samples[i : i + (1 << 20)].astype(np.float64)
        total += float(block @ block)
    if total == 0.0:
        return samples
    change_db = target_dbfs - 10.0 * np.log10(total / len(samples))
    if change_db <= 0:
        return samples
    return (samples * np.float32(10.0 ** (change_db / 20.0))).astype(np.float32, copy=False)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    # Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log = hz >= 1000.0
    return np.where(log, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` triangular filters, as ``librosa.filters.mel`` with its defaults
    (Slaney mel scale, Slaney area normalisation, 0 Hz to Nyquist)."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_freqs = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2:] - mel_freqs[:-2]))[:, None]  # equal area per filter
    return weights.astype(np.float32)


_MEL_T = np.ascontiguousarray(mel_filterbank().T)  # (n_fft // 2 + 1, n_mels)
# scipy.signal.get_window("hann", N_FFT), librosa's default: the periodic Hann window.
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """``(1 + len(samples) // 160, 40)`` float32 mel power spectrogram, frame ``t`` centred on sample ``160 t``
    (as Resemblyzer's ``wav_to_mel_spectrogram``: librosa's melspectrogram, centred, zero-padded, no log)."""
    padded = np.pad(np.asarray(samples, dtype=np.float32), N_FFT // 2)
    n_frames = 1 + len(samples) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for i in range(0, n_frames, _MEL_BLOCK):
        spec = np.fft.rfft(frames[i : i + _MEL_BLOCK] * _WINDOW, axis=-1)
        power = spec.real**2 + spec.imag**2
        out[i : i + _MEL_BLOCK] = power.astype(np.float32) @ _MEL_T
    return out


def _as_mono(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (1-D), got shape {samples.shape}")
    return samples


# ------------------------------------------------------------------------------------------ encoder


class Ge2eEncoder:
    """Resemblyzer's GE2E speaker encoder in numpy: 256-d unit-length embeddings of 16 kHz speech."""

    dim = 256

    def __init__(self, path: Path | None = None) -> None:
        """Load the weights from ``path`` (default: the installed ``resemblyzer`` package's ``pretrained.pt``)."""
        path = path or weights_path()
        try:
            state = _read_state_dict(path)
        except (OSError, EOFError, AttributeError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as exc:
            raise ModelError(f"cannot read the GE2E speaker-encoder weights {path}: {exc}") from exc

        # PyTorch's gate rows are (input, forget, cell, output). Reorder the columns to (i, f, o, g) so that one
        # tanh covers all gates: the sigmoid gates' columns are pre-scaled by 1/2, as sigmoid(x) = (1 + tanh(x/2)) / 2.
        h = HIDDEN
        order = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]
        scale = np.r_[np.full(3 * h, 0.5), np.ones(h)].astype(np.float32)
        self._w_ih: list[np.ndarray] = []  # (input, 4H), pre-transposed for x @ W
        self._w_hh: list[np.ndarray] = []  # (H, 4H)
        self._b: list[np.ndarray] = []  # (4H,) = b_ih + b_hh
        for layer in range(N_LAYERS):
            w_ih = state[f"lstm.weight_ih_l{layer}"][order] * scale[:, None]
            w_hh = state[f"lstm.weight_hh_l{layer}"][order] * scale[:, None]
            bias = (state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"])[order] * scale
            self._w_ih.append(np.ascontiguousarray(w_ih.T, dtype=np.float32))
            self._w_hh.append(np.ascontiguousarray(w_hh.T, dtype=np.float32))
            self._b.append(bias.astype(np.float32))
        self._w_out = np.ascontiguousarray(state["linear.weight"].T, dtype=np.float32)  # (H, dim)
        self._b_out = state["linear.bias"].astype(np.float32)
        if self._w_ih[0].shape != (N_MELS, 4 * h) or self._w_out.shape != (h, self.dim):
            raise ModelError(f"unexpected GE2E weight shapes in {path}")

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """Embeddings ``(batch, 256)`` of time-major mel windows ``(frames, batch, 40)``, all of one length."""
        steps, batch, _ = mels.shape
        h = HIDDEN
        hs = [np.zeros((batch, h), dtype=np.float32) for _ in range(N_LAYERS)]
        cs = [np.zeros((batch, h), dtype=np.float32) for _ in range(N_LAYERS)]
        # Step-major (all layers per time step) keeps memory at a few (batch, 4H) buffers whatever the length.
        for t in range(steps):
            x = mels[t]
            for layer in range(N_LAYERS):
                z = x @ self._w_ih[layer]
                z += hs[layer] @ self._w_hh[layer]
                z += self._b[layer]
                np.tanh(z, out=z)
                gates = z[:, : 3 * h]
                gates *= 0.5
                gates += 0.5
                c = cs[layer]
                c *= z[:, h : 2 * h]  # forget gate
                c += z[:, :h] * z[:, 3 * h :]  # input gate * cell candidate
                x = hs[layer] = z[:, 2 * h : 3 * h] * np.tanh(c)  # output gate
        raw = np.maximum(hs[-1] @ self._w_out + self._b_out, 0.0)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return (raw / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)

    def _embed_frames(self, mel: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
        """Embed windows ``mel[s : s + length]`` for each start frame ``s``, a batch of at most _BATCH at a time."""
        out = np.empty((len(starts), self.dim), dtype=np.float32)
        offsets = np.arange(length)[:, None]
        for i in range(0, len(starts), _BATCH):
            chunk = starts[i : i + _BATCH]
            out[i : i + len(chunk)] = self.forward(mel[offsets + chunk[None, :]])  # (length, batch, 40)
        return out

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One unit-length ``(256,)`` float32 embedding of a whole clip of one speaker, as Resemblyzer's
        ``embed_utterance``: 1.6 s partial windows, 1.3 per second, averaged and L2-normalised. A clip shorter
        than one window is zero-padded to one window."""
        wav = normalize_volume(_as_mono(samples))
        # Resemblyzer's compute_partial_slices(len(wav), rate=1.3, min_coverage=0.75).
        n_frames = int(np.ceil((len(wav) + 1) / HOP))
        frame_step = round(SAMPLE_RATE / _RATE / HOP)
        starts = np.arange(0, max(1, n_frames - PARTIAL_FRAMES + frame_step + 1), frame_step)
        coverage = (len(wav) - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
        if coverage < _MIN_COVERAGE and len(starts) > 1:
            starts = starts[:-1]
        end = (int(starts[-1]) + PARTIAL_FRAMES) * HOP
        if end >= len(wav):
            wav = np.pad(wav, (0, end - len(wav)))
        partials = self._embed_frames(mel_frames(wav), starts, PARTIAL_FRAMES)
        mean = partials.mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def embed_windows(
        self,
        samples: np.ndarray,
        window_s: float,
        hop_s: float,
        spans: Sequence[tuple[float, float]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of sliding windows for diarization: ``(starts_s, embeddings)``, shapes ``(n,)`` and ``(n, 256)``,
        in time order.

        Windows of ``window_s`` start every ``hop_s`` (both rounded to 10 ms frames) inside each of ``spans``
        (seconds; default: the whole clip) and never cross a span's edges; when the last one stops short of a
        span's end, one more window ends exactly there. A span shorter than one window gives one window over all
        of it. Each window is embedded on its own (its own LSTM pass, as Resemblyzer's partials), from the mel
        spectrogram of the whole clip after one volume normalisation; windows of all spans run as one batch,
        which is what makes many short speech regions cheap.
        """
        if not (window_s > 0 and hop_s > 0):
            raise InvalidOptionError("window and hop lengths must be positive")
        wav = normalize_volume(_as_mono(samples))
        mel = mel_frames(wav)
        usable = max(1, -(-len(wav) // HOP))  # frames centred inside the clip
        length = max(1, round(window_s * SAMPLE_RATE / HOP))
        hop = max(1, round(hop_s * SAMPLE_RATE / HOP))
        frame_spans = [(0, usable)] if spans is None else [_frame_span(a, b, usable) for a, b in spans]
        by_length: dict[int, list[int]] = {}  # windows of one length run through the LSTM together
        for first, stop in frame_spans:
            if stop - first <= length:
                by_length.setdefault(max(1, stop - first), []).append(first)
                continue
            starts = list(range(first, stop - length + 1, hop))
            if starts[-1] + length < stop:
                starts.append(stop - length)
            by_length.setdefault(length, []).extend(starts)
        if not by_length:
            return np.zeros(0), np.zeros((0, self.dim), np.float32)
        starts = np.concatenate([np.asarray(v, np.int64) for v in by_length.values()])
        embeddings = np.concatenate([self._embed_frames(mel, np.asarray(v, np.int64), n) for n, v in by_length.items()])
        order = np.argsort(starts, kind="stable")
        return starts[order] * (HOP / SAMPLE_RATE), embeddings[order]


def _frame_span(start_s: float, end_s: float, usable: int) -> tuple[int, int]:
    """A span in seconds as mel frames inside ``[0, usable)`` (at least one frame long)."""
    first = min(max(0, round(start_s * SAMPLE_RATE / HOP)), usable - 1)
    return first, min(usable, max(first + 1, round(end_s * SAMPLE_RATE / HOP)))


@once
def get_encoder() -> Ge2eEncoder:
    """The process-wide GE2E encoder, loaded on first use (thread-safe)."""
    return Ge2eEncoder()
