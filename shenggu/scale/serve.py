"""Speech recognition and synthesis as Ray Serve deployments, and the stand-ins through which the API calls them.

With ``SHENGGU_RAY_ADDRESS`` set (``shenggu serve --ray``), the API process keeps everything light — HTTP and
WebSocket handling, sessions, VAD and windowing, the database — and sends the heavy calls to replicas on the
cluster: an ASR replica runs ``decode_chunks`` (with homophone correction, which needs the model), a TTS replica
runs whole ``synthesize`` requests and streams their chunks back. Replicas, autoscaling and the CPUs and memory
Ray reserves per replica come from the settings (``SHENGGU_RAY_ASR_REPLICAS``…).

Ray Serve's request batching is not used for ASR windows: on these CPUs a batch of windows costs what the
windows cost one by one (measured: 8 windows in batches of 1, 2, 4, 8 took 13.6, 13.1, 14.6, 15.4 s), so
replicas decode concurrent calls side by side instead, one per CPU.

A call whose replica died is sent once more (Ray Serve starts a replacement); if that fails too the request is
answered 503 with ``Retry-After``. A speech stream is retried only before its first chunk.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shenggu.asr.registry import get_recognizer
from shenggu.asr.types import ChunkResult, DecodeOptions, Segment, Word
from shenggu.config import Settings
from shenggu.errors import ShengguError
from shenggu.logs import get_logger
from shenggu.tts.synthesis import synthesize
from shenggu.tts.types import AudioChunk

log = get_logger("shenggu.scale")

NAMESPACE = "shenggu"
RETRY_AFTER_S = 10
# The settings a replica takes from the API process (paths must exist on every node); nothing secret.
_MODEL_SETTINGS = ("home", "asr_engine", "asr_model_dir", "asr_batch_size", "asr_parallel_batches")


class ReplicaUnavailableError(ShengguError):
    """No replica of a capability could serve the call (it died twice, or none is running)."""

    code = "capacity_unavailable"
    http_status = 503


@dataclass(frozen=True)
class DeploymentSpec:
    """How many replicas of one capability, and what Ray reserves for each."""

    name: str
    replicas: int
    min_replicas: int | None
    max_replicas: int | None
    cpus: int
    memory_mb: int

    @classmethod
    def of(cls, capability: str, settings: Settings) -> DeploymentSpec:
        """The settings' ``ray_<capability>_*`` fields."""
        field = lambda suffix: getattr(settings, f"ray_{capability}_{suffix}")  # noqa: E731
        return cls(
            f"shenggu-{capability}",
            field("replicas"),
            field("min_replicas"),
            field("max_replicas"),
            field("cpus"),
            field("memory_mb"),
        )

    @property
    def autoscaling(self) -> bool:
        """Whether min and max replicas are both set."""
        return self.min_replicas is not None and self.max_replicas is not None

    @property
    def capacity(self) -> int:
        """Calls the deployment runs at once at its largest: one per CPU of every replica."""
        return (self.max_replicas if self.autoscaling else self.replicas) * self.cpus

    def options(self, settings: Settings) -> dict[str, Any]:
        """``serve.deployment(...).options(...)`` keyword arguments."""
        overrides = {name: getattr(settings, name) for name in _MODEL_SETTINGS} | {"cpu_threads": self.cpus}
        env = {f"SHENGGU_{name.upper()}": str(value) for name, value in overrides.items() if value is not None}
        options: dict[str, Any] = {
            "name": self.name,
            "max_ongoing_requests": 2 * self.cpus,  # one running per CPU, one waiting (urgent finals go first)
            "ray_actor_options": {
                "num_cpus": self.cpus,
                "memory": self.memory_mb * 2**20,
                "runtime_env": {"env_vars": env},
            },
        }
        if self.autoscaling:
            options["autoscaling_config"] = {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.cpus,
            }
        else:
            options["num_replicas"] = self.replicas
        return options


class AsrReplica:
    """One ASR replica: the recognizers it is asked for (the settings' default and any named engine), loaded once."""

    def __init__(self) -> None:
        from shenggu.config import get_settings

        self.settings = get_settings()  # from the environment the deployment sets (see DeploymentSpec.options)

    def _recognizer(self, engine: str):
        return get_recognizer(engine, settings=self.settings)

    async def info(self, engine: str) -> tuple[str, list[str]]:
        """The engine's name and languages (loads it)."""
        recognizer = await asyncio.to_thread(self._recognizer, engine)
        return recognizer.name, list(getattr(recognizer, "languages", []))

    async def decode_chunks(self, engine: str, chunks: list[np.ndarray], options: DecodeOptions) -> list[ChunkResult]:
        """``Recognizer.decode_chunks`` on this replica."""
        return await asyncio.to_thread(lambda: self._recognizer(engine).decode_chunks(chunks, options))

    async def detect_language(self, engine: str, audio: np.ndarray) -> tuple[str, float]:
        """``Recognizer.detect_language`` on this replica."""
        return await asyncio.to_thread(lambda: self._recognizer(engine).detect_language(audio))

    async def translate_speech(self, engine: str, audio: np.ndarray, language: str | None) -> list[Segment]:
        """Whisper's own speech translation on this replica."""
        return await asyncio.to_thread(lambda: self._recognizer(engine).translate_speech(audio, language))

    async def align_texts(
        self, engine: str, audio: np.ndarray, texts: list[str], language: str, context_s: float
    ) -> list[list[Word]]:
        """Forced alignment of texts on this replica."""
        return await asyncio.to_thread(lambda: self._recognizer(engine).align_texts(audio, texts, language, context_s))


class TtsReplica:
    """One TTS replica: whole synthesis requests, streamed back chunk by chunk."""

    def __init__(self) -> None:
        from shenggu.config import get_settings

        self.settings = get_settings()

    async def speak(self, text: str, voice: str, speed: float, sample_rate: int | None):
        """The chunks of ``synthesize``, as they are made."""
        chunks = synthesize(text, voice, speed, sample_rate, settings=self.settings)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk


_REPLICAS = {"asr": AsrReplica, "tts": TtsReplica}


@dataclass
class Cluster:
    """The deployments of one API process, by capability, with their specs."""

    handles: dict[str, Any]
    specs: dict[str, DeploymentSpec]


_cluster: Cluster | None = None
_cluster_lock = threading.Lock()


def cluster(settings: Settings) -> Cluster:
    """Connect to the settings' Ray cluster and deploy (or update) the ASR and TTS deployments, once per process."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            _cluster = _deploy(settings)
        return _cluster


def _deploy(settings: Settings) -> Cluster:
    from ray import serve

    from shenggu.scale.executors import connect

    connect(settings.ray_address or "auto", namespace=NAMESPACE)
    serve.start(proxy_location="Disabled")  # the API process answers HTTP; Serve only routes calls to replicas
    specs = {capability: DeploymentSpec.of(capability, settings) for capability in _REPLICAS}
    handles = {}
    for capability, replica in _REPLICAS.items():
        spec = specs[capability]
        app = serve.deployment(replica).options(**spec.options(settings)).bind()
        handles[capability] = serve.run(app, name=spec.name, route_prefix=None)
        log.info("ray deployment ready", deployment=spec.name, **_spec_fields(spec))
    return Cluster(handles, specs)


def _spec_fields(spec: DeploymentSpec) -> dict:
    replicas = f"{spec.min_replicas}-{spec.max_replicas}" if spec.autoscaling else str(spec.replicas)
    return {"replicas": replicas, "cpus": spec.cpus, "memory_mb": spec.memory_mb}


def call_replica(call: Callable[[], Any], attempts: int = 2) -> Any:
    """``call()`` (a deployment handle's ``.remote(...).result()``), made up to ``attempts`` times while its
    replica dies; a replica's own error is raised as itself (a bad file stays a 4xx)."""
    import ray.exceptions

    for attempt in range(attempts):
        try:
            return call()
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause
            raise (cause if isinstance(cause, Exception) else exc) from None
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError, _serve_unavailable()) as exc:
            log.warning("ray replica lost", attempt=attempt + 1, error=type(exc).__name__)
    raise ReplicaUnavailableError(
        "no replica could serve the request; try again shortly", headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def _serve_unavailable() -> type[Exception]:
    from ray.serve.exceptions import RayServeException

    return RayServeException


class RemoteRecognizer:
    """A ``Recognizer`` whose decoding runs on the cluster's ASR replicas (see the module docstring)."""

    def __init__(self, handle: Any, name: str, workers: int, languages: list[str]) -> None:
        self.name = name
        self.workers = workers
        self.languages = languages
        self._handle = handle
        self._running = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Whether every replica CPU has a call of this process running (a new call would queue)."""
        return self._running >= self.workers

    @property
    def idle(self) -> bool:
        """Whether this process has no call running."""
        return self._running == 0

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            self._running += 1
        try:
            return call_replica(lambda: getattr(self._handle, method).remote(self.name, *args).result())
        finally:
            with self._lock:
                self._running -= 1

    def decode_chunks(self, chunks: Sequence[np.ndarray], options: DecodeOptions) -> list[ChunkResult]:
        """Decode a batch of speech chunks on a replica."""
        return self._call("decode_chunks", list(chunks), options)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The most likely language of ``audio``, decided on a replica."""
        return self._call("detect_language", audio)

    def translate_speech(self, audio: np.ndarray, language: str | None = None) -> list[Segment]:
        """Whisper's own speech translation, on a replica."""
        return self._call("translate_speech", audio, language)

    def align_texts(
        self, audio: np.ndarray, texts: Sequence[str], language: str, context_s: float = 30.0
    ) -> list[list[Word]]:
        """Forced alignment of ``texts`` on ``audio``, on a replica."""
        return self._call("align_texts", audio, list(texts), language, context_s)


_recognizers: dict[str, RemoteRecognizer] = {}


def remote_recognizer(name: str | None, settings: Settings) -> RemoteRecognizer:
    """The stand-in for engine ``name`` (default: the settings'), asked once per process for its languages."""
    engine = name or settings.asr_engine
    with _cluster_lock:
        found = _recognizers.get(engine)
    if found is None:
        deployed = cluster(settings)
        real_name, languages = call_replica(lambda: deployed.handles["asr"].info.remote(engine).result())
        found = RemoteRecognizer(deployed.handles["asr"], real_name, deployed.specs["asr"].capacity, languages)
        with _cluster_lock:
            found = _recognizers.setdefault(engine, found)
    return found


def remote_speech(
    text: str, voice: str, speed: float, sample_rate: int | None, settings: Settings
) -> Iterator[AudioChunk]:
    """``synthesize`` on a TTS replica, chunk by chunk (retried on another replica only before the first)."""
    handle = cluster(settings).handles["tts"].options(stream=True)

    def start() -> tuple[Iterator[AudioChunk], AudioChunk | None]:
        stream = iter(handle.speak.remote(text, voice, speed, sample_rate))
        return stream, next(stream, None)

    stream, chunk = call_replica(start)
    while chunk is not None:
        yield chunk
        chunk = call_replica(lambda: next(stream, None), attempts=1)  # half-sent audio cannot be sent again
