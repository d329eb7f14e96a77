"""The Ray deployment never hangs a request: while replicas cannot be placed, calls get 503 with Retry-After after
the start-up wait, and a failed deployment is reported and tried again (``shenggu.scale.serve.cluster``)."""

from __future__ import annotations

import threading

import pytest

from shenggu.config import Settings
from shenggu.scale import serve
from shenggu.scale.serve import ReplicaUnavailableError


@pytest.fixture
def fresh_deployment(monkeypatch):
    monkeypatch.setattr(serve, "_deployment", serve._Deployment())
    monkeypatch.setattr(serve, "DEPLOY_WAIT_S", 0.3)


def test_requests_get_503_while_replicas_are_not_placed(fresh_deployment, monkeypatch) -> None:
    placed = threading.Event()
    deployed = serve.Cluster({"asr": "handle"}, {})

    def slow_deploy(settings):
        placed.wait(10)
        return deployed

    monkeypatch.setattr(serve, "_deploy", slow_deploy)
    for _ in range(2):  # the first call waits DEPLOY_WAIT_S, the next ones answer at once
        with pytest.raises(ReplicaUnavailableError) as caught:
            serve.cluster(Settings())
        assert caught.value.http_status == 503 and int(caught.value.headers["Retry-After"]) > 0
    placed.set()
    assert serve._deployment.ready.wait(5)
    assert serve.cluster(Settings()) is deployed


def test_a_failed_deployment_is_reported_then_retried(fresh_deployment, monkeypatch) -> None:
    attempts = []

    def failing_then_working(settings):
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("no cluster there")
        return serve.Cluster({}, {})

    monkeypatch.setattr(serve, "_deploy", failing_then_working)
    with pytest.raises(ReplicaUnavailableError, match="ConnectionError"):
        serve.cluster(Settings())
    assert isinstance(serve.cluster(Settings()), serve.Cluster)
    assert len(attempts) == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHENGGU_RAY_ASR_MIN_REPLICAS": "2"}, "set both SHENGGU_RAY_ASR_MIN_REPLICAS and _MAX_REPLICAS"),
        ({"SHENGGU_RAY_TTS_MIN_REPLICAS": "3", "SHENGGU_RAY_TTS_MAX_REPLICAS": "2"}, "is above _MAX_REPLICAS"),
        ({"SHENGGU_RAY_ASR_CPUS": "0"}, "SHENGGU_RAY_ASR_CPUS"),
    ],
)
def test_bad_replica_settings_name_their_variable(monkeypatch, env: dict, message: str) -> None:
    from shenggu.config import get_settings
    from shenggu.errors import InvalidOptionError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()  # the settings are read once per process
    try:
        with pytest.raises(InvalidOptionError, match=message):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()  # the next caller reads the restored environment


def test_deployment_options_follow_the_settings(tmp_path) -> None:
    fixed = serve.DeploymentSpec.of("asr", Settings(ray_asr_replicas=4, ray_asr_cpus=2, home=tmp_path))
    options = fixed.options(Settings(home=tmp_path, asr_model_dir=tmp_path / "model", database_url="sqlite:///x"))
    assert options["num_replicas"] == 4 and "autoscaling_config" not in options
    assert options["ray_actor_options"]["num_cpus"] == 2
    assert options["ray_actor_options"]["memory"] == 1200 * 2**20
    env = options["ray_actor_options"]["runtime_env"]["env_vars"]
    assert env["SHENGGU_CPU_THREADS"] == "2" and env["SHENGGU_ASR_MODEL_DIR"] == str(tmp_path / "model")
    assert not any("DATABASE" in name for name in env)  # replicas get model settings only, never secrets
    assert fixed.capacity == 8
    scaled = serve.DeploymentSpec.of("tts", Settings(ray_tts_min_replicas=1, ray_tts_max_replicas=5))
    options = scaled.options(Settings())
    assert options["autoscaling_config"]["max_replicas"] == 5 and "num_replicas" not in options
    assert scaled.capacity == 5


def test_every_capability_with_ray_settings_is_deployed() -> None:
    from shenggu.config import RAY_CAPABILITIES

    assert tuple(serve._REPLICAS) == RAY_CAPABILITIES
