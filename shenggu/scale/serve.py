"""Recognition, synthesis and pronunciation assessment as Ray Serve deployments, and the API's stand-ins for them.

With ``SHENGGU_RAY_ADDRESS`` set (``shenggu serve --ray``), the API process keeps everything light — HTTP and
WebSocket handling, sessions, VAD and windowing, the database — and sends the heavy calls to replicas on the
cluster: an ASR replica runs ``decode_chunks`` (with homophone correction, which needs the model), a TTS replica
runs whole ``synthesize`` requests and streams their chunks back, an assessment replica scores readings, a
speaker-embedding replica computes diarization's and enrolment's voiceprints, a language-model replica answers chats
and drafts translations (behind the API process's fair per-tenant queue).
Replicas, autoscaling and the CPUs and memory Ray reserves per replica come from the settings
(``SHENGGU_RAY_ASR_REPLICAS``…).

Ray Serve's request batching is not used for ASR windows: on these CPUs a batch of windows costs what the
windows cost one by one (measured: 8 windows in batches of 1, 2, 4, 8 took 13.6, 13.1, 14.6, 15.4 s), so
replicas decode concurrent calls side by side instead, one per CPU.

A call whose replica died is sent once more (Ray Serve starts a replacement); if that fails too the request is
answered 503 with ``Retry-After``. A speech stream is retried only before its first chunk.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shenggu.asr.registry import get_recognizer
from shenggu.asr.types import ChunkResult, DecodeOptions, Segment
from shenggu.assess.registry import LANGUAGES as ASSESS_LANGUAGES
from shenggu.assess.registry import get_assessor
from shenggu.assess.types import Assessment
from shenggu.config import Settings
from shenggu.diarize.registry import get_speaker_encoder
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.lazy import once_per
from shenggu.llm.chat_queue import ChatQueue, FairQueue
from shenggu.llm.llama import get_language_model
from shenggu.llm.types import ChatChunk, ChatMessage, ChatOptions, ChatResult
from shenggu.logs import get_logger
from shenggu.tts.synthesis import synthesize
from shenggu.tts.types import AudioChunk

log = get_logger("shenggu.scale")

NAMESPACE = "shenggu"
RETRY_AFTER_S = 10
DEPLOY_WAIT_S = 120.0  # how long requests wait for the replicas to be placed at start-up
CALL_TIMEOUT_S = 600.0  # a replica call not answered by then is a 503 (a stuck cluster must not hang a request)
# The settings a replica takes from the API process (paths must exist on every node); nothing secret.
_MODEL_SETTINGS = (
    "home",
    "asr_engine",
    "asr_model_dir",
    "asr_batch_size",
    "asr_parallel_batches",
    "llm_model",
    "llm_model_path",
    "llm_slots",
)


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
    def most_replicas(self) -> int:
        """Replicas at the deployment's largest: the autoscaling maximum, or the fixed count."""
        return self.max_replicas if self.autoscaling and self.max_replicas is not None else self.replicas

    @property
    def capacity(self) -> int:
        """Calls the deployment runs at once at its largest: one per CPU of every replica."""
        return self.most_replicas * self.cpus

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


class _Replica:
    """A replica's settings: its environment, which the deployment sets (see ``DeploymentSpec.options``)."""

    def __init__(self) -> None:
        from shenggu.config import get_settings

        self.settings = get_settings()


class AsrReplica(_Replica):
    """One ASR replica: the recognizers it is asked for (the settings' default and any named engine), loaded once."""

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


class TtsReplica(_Replica):
    """One TTS replica: whole synthesis requests, streamed back chunk by chunk."""

    async def speak(self, text: str, voice: str, speed: float, sample_rate: int | None):
        """The chunks of ``synthesize``, as they are made."""
        chunks = synthesize(text, voice, speed, sample_rate, settings=self.settings)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk


class AssessReplica(_Replica):
    """One pronunciation-assessment replica (English GOP, Mandarin alignment and tones), models loaded once."""

    async def assess(self, language: str, samples: np.ndarray, reference: str) -> Assessment:
        """``Assessor.assess`` of ``language`` on this replica."""
        return await asyncio.to_thread(lambda: get_assessor(language, self.settings).assess(samples, reference))


class DiarizeReplica(_Replica):
    """One speaker-embedding replica: the windows' voiceprints of diarization and enrolment (clustering stays in
    the API process: it is light)."""

    async def dim(self) -> int:
        """The embedding size (loads the encoder)."""
        return await asyncio.to_thread(lambda: get_speaker_encoder().dim)

    async def embed(self, samples: np.ndarray) -> np.ndarray:
        """``SpeakerEncoder.embed`` on this replica."""
        return await asyncio.to_thread(lambda: get_speaker_encoder().embed(samples))

    async def embed_windows(
        self, samples: np.ndarray, window_s: float, hop_s: float, spans: list[tuple[float, float]] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``SpeakerEncoder.embed_windows`` on this replica."""
        return await asyncio.to_thread(lambda: get_speaker_encoder().embed_windows(samples, window_s, hop_s, spans))


class LlmReplica(_Replica):
    """One language-model replica (llama.cpp with its slots); the fair per-tenant queue stays in the API process."""

    def _model(self):
        return get_language_model(self.settings)

    async def slots(self) -> int:
        """Sequences the model decodes at once (loads it)."""
        return await asyncio.to_thread(lambda: self._model().slots)

    async def chat(self, messages: list[ChatMessage], options: ChatOptions | None) -> ChatResult:
        """``LanguageModel.chat`` on this replica."""
        return await asyncio.to_thread(lambda: self._model().chat(messages, options))

    async def stream(self, messages: list[ChatMessage], options: ChatOptions | None):
        """``LanguageModel.stream`` on this replica; a cancelled call stops the generation."""
        chunks = self._model().stream(messages, options)
        try:
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                yield chunk
        finally:
            chunks.close()


_REPLICAS = {
    "asr": AsrReplica,
    "tts": TtsReplica,
    "assess": AssessReplica,
    "diarize": DiarizeReplica,
    "llm": LlmReplica,
}


@dataclass
class Cluster:
    """The deployments of one API process, by capability, with their specs."""

    handles: dict[str, Any]
    specs: dict[str, DeploymentSpec]


class _Deployment:
    """The deployments of this process, made once in a background thread: Ray Serve waits, without a time limit,
    until every replica is placed, and a cluster too small for them must not hang every request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.cluster: Cluster | None = None
        self.error: Exception | None = None
        self.started: float | None = None
        self.needs = ""


_deployment = _Deployment()


def cluster(settings: Settings) -> Cluster:
    """Connect to the settings' Ray cluster and deploy (or update) shenggu's deployments, once per process.

    Waits until :data:`DEPLOY_WAIT_S` after the deployment began; past that, while replicas are still not placed,
    raises ``ReplicaUnavailableError`` (503 with ``Retry-After``) at once."""
    state = _deployment
    with state.lock:
        if state.cluster is not None:
            return state.cluster
        if state.started is None:
            state.started, state.error = time.monotonic(), None
            state.ready.clear()
            threading.Thread(target=_deploy_in_background, args=(settings,), name="ray-deploy", daemon=True).start()
        waited = time.monotonic() - state.started
    if not state.ready.wait(max(0.0, DEPLOY_WAIT_S - waited)):
        raise ReplicaUnavailableError(
            f"the Ray cluster is still starting shenggu's replicas{state.needs}; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    with state.lock:
        if state.cluster is None:  # the deployment failed: report it, and try again on the next call
            state.started, error = None, state.error
            if isinstance(error, ShengguError):
                raise error
            raise ReplicaUnavailableError(
                f"the Ray deployment failed ({type(error).__name__}); try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return state.cluster


def _deploy_in_background(settings: Settings) -> None:
    state = _deployment
    try:
        deployed = _deploy(settings)
        with state.lock:
            state.cluster = deployed
    except Exception as exc:  # reported to the next caller
        log.warning("ray deployment failed", error=type(exc).__name__)
        with state.lock:
            state.error = exc
    finally:
        state.ready.set()


def _deploy(settings: Settings) -> Cluster:
    from ray import serve

    from shenggu.scale.executors import connect

    ray = connect(settings.ray_address or "auto", namespace=NAMESPACE)
    specs = {capability: DeploymentSpec.of(capability, settings) for capability in _REPLICAS}
    needed = sum(spec.cpus * (spec.min_replicas if spec.autoscaling else spec.replicas) for spec in specs.values())
    available = ray.cluster_resources().get("CPU", 0)
    _deployment.needs = f" (they need {needed} CPUs, the cluster has {available:g})"
    if needed > available:
        log.warning("ray cluster too small for the replicas", needed_cpus=needed, cluster_cpus=available)
    serve.start(proxy_location="Disabled")  # the API process answers HTTP; Serve only routes calls to replicas
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
        except TimeoutError:
            raise ReplicaUnavailableError(
                f"no replica answered within {CALL_TIMEOUT_S:.0f} s; try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError, _serve_unavailable()) as exc:
            log.warning("ray replica lost", attempt=attempt + 1, error=type(exc).__name__)
    raise ReplicaUnavailableError(
        "no replica could serve the request; try again shortly", headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def _serve_unavailable() -> type[Exception]:
    from ray.serve.exceptions import RayServeException

    return RayServeException


def _ask(handle: Any, method: str, *args: Any) -> Any:
    """The answer of ``handle.method(*args)`` on a replica, through :func:`call_replica` (so within
    :data:`CALL_TIMEOUT_S`, sent again once if the replica died)."""
    return call_replica(lambda: getattr(handle, method).remote(*args).result(timeout_s=CALL_TIMEOUT_S))


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
            return _ask(self._handle, method, self.name, *args)
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


@once_per(lambda name, settings: name or settings.asr_engine)
def remote_recognizer(name: str | None, settings: Settings) -> RemoteRecognizer:
    """The stand-in for engine ``name`` (default: the settings'), asked once per process for its languages."""
    deployed = cluster(settings)
    real_name, languages = _ask(deployed.handles["asr"], "info", name or settings.asr_engine)
    return RemoteRecognizer(deployed.handles["asr"], real_name, deployed.specs["asr"].capacity, languages)


class RemoteAssessor:
    """An ``Assessor`` of one language whose scoring runs on the cluster's assessment replicas."""

    def __init__(self, handle: Any, language: str) -> None:
        self.language = language
        self._handle = handle

    def assess(self, samples: np.ndarray, reference: str) -> Assessment:
        """Score one reading on a replica."""
        return _ask(self._handle, "assess", self.language, samples, reference)


def remote_assessor(language: str, settings: Settings) -> RemoteAssessor:
    """The stand-in for the ``language`` assessor (checked here, so a bad language is a 4xx before any call)."""
    if language not in ASSESS_LANGUAGES:
        raise InvalidOptionError(f"assessment language must be one of {', '.join(ASSESS_LANGUAGES)}")
    return RemoteAssessor(cluster(settings).handles["assess"], language)


class RemoteSpeakerEncoder:
    """A ``SpeakerEncoder`` whose embeddings are computed on the cluster's speaker-embedding replicas."""

    def __init__(self, handle: Any, dim: int) -> None:
        self.dim = dim
        self._handle = handle

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One embedding of a whole clip, from a replica."""
        return _ask(self._handle, "embed", samples)

    def embed_windows(
        self, samples: np.ndarray, window_s: float, hop_s: float, spans: Sequence[tuple[float, float]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sliding-window embeddings, from a replica."""
        return _ask(self._handle, "embed_windows", samples, window_s, hop_s, None if spans is None else list(spans))


@once_per(lambda settings: None)
def remote_speaker_encoder(settings: Settings) -> RemoteSpeakerEncoder:
    """The stand-in for the platform's speaker encoder, made once per process (it asks a replica for the size)."""
    handle = cluster(settings).handles["diarize"]
    return RemoteSpeakerEncoder(handle, _ask(handle, "dim"))


class RemoteLanguageModel:
    """A ``LanguageModel`` on the cluster's language-model replicas."""

    def __init__(self, handle: Any, slots: int) -> None:
        self.slots = slots
        self._handle = handle

    def chat(self, messages: Sequence[ChatMessage], options: ChatOptions | None = None) -> ChatResult:
        """A whole answer from a replica."""
        return _ask(self._handle, "chat", list(messages), options)

    def stream(
        self, messages: Sequence[ChatMessage], options: ChatOptions | None = None
    ) -> Generator[ChatChunk, None, None]:
        """The answer as a replica generates it; closing the generator cancels the call (and the generation)."""
        response = self._handle.options(stream=True).stream.remote(list(messages), options)
        chunks = iter(response)
        try:
            while (chunk := call_replica(lambda: next(chunks, None), attempts=1)) is not None:
                yield chunk
        finally:
            response.cancel()


@once_per(lambda settings: None)
def remote_chat_queue(settings: Settings) -> ChatQueue:
    """The process's fair queue in front of the cluster's language model (one worker per slot of every replica at
    the largest scale), made once; registered with ``shenggu.llm.chat_queue.provide_chat_queues``."""
    deployed = cluster(settings)
    handle = deployed.handles["llm"]
    slots = _ask(handle, "slots")
    return ChatQueue(RemoteLanguageModel(handle, slots), FairQueue(workers=deployed.specs["llm"].most_replicas * slots))


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
