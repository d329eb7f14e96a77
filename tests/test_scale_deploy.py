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
