"""Where archive files are transcribed: threads of this process, or tasks on a Ray cluster.

Both run :func:`shenggu.scale.work.transcribe_file` and yield its outcomes as files finish, with a bounded number
in flight, so a manifest of 100,000 files never holds more than a few of them in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shenggu.config import get_settings
from shenggu.errors import ShengguError, error_info
from shenggu.scale.work import BatchOptions, FileOutcome, transcribe_file

# A Ray task that fails because its worker process or node died is run again this many times (at-least-once;
# the driver writes each output once). A file that fails with an error of its own is not retried.
RAY_TASK_RETRIES = 3


@dataclass(frozen=True)
class FileTask:
    """One input file and the name it is reported under (its path relative to the input folder or manifest)."""

    path: Path
    name: str


class Executor(Protocol):
    """Runs files' transcriptions and yields their outcomes in the order they finish."""

    backend: str

    def run(self, tasks: Iterable[FileTask], options: BatchOptions) -> Iterator[FileOutcome]:
        """Each task's outcome, as it finishes."""
        ...


class ClusterUnavailableError(ShengguError):
    """Ray is not installed, or no cluster answers at the given address."""

    code = "cluster_unavailable"
    http_status = 503


class LocalExecutor:
    """``workers`` files at a time in threads of this process, sharing one recognizer (whose own workers decode
    two files' windows at once on two cores)."""

    backend = "local"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def run(self, tasks: Iterable[FileTask], options: BatchOptions) -> Iterator[FileOutcome]:
        """Each task's outcome, as it finishes."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="archive") as pool:
            running: set[Future[FileOutcome]] = set()
            for task in tasks:
                if len(running) >= self.workers:
                    yield from _finished(running)
                running.add(pool.submit(transcribe_file, str(task.path), task.name, options))
            while running:
                yield from _finished(running)


def _finished(running: set[Future[FileOutcome]]) -> Iterator[FileOutcome]:
    """The outcomes of the calls that finish first, taken out of ``running`` (transcribe_file returns failures as
    outcomes, so no result raises)."""
    finished, _ = wait(running, return_when=FIRST_COMPLETED)
    running.difference_update(finished)
    for future in finished:
        yield future.result()


class RayExecutor:
    """Files as Ray tasks on the cluster at ``address`` (``auto``: the one this machine belongs to).

    The driver reads each file and hands its bytes to the task, so workers need no shared storage; each task
    asks for ``cpus_per_task`` CPUs and decodes with that many threads. At most two tasks per cluster CPU are in
    flight. A task whose worker died is retried (:data:`RAY_TASK_RETRIES`); after that the file fails with
    ``worker_lost`` and the batch goes on.
    """

    backend = "ray"

    def __init__(self, address: str, cpus_per_task: int = 1) -> None:
        ray = connect(address)
        self.cpus_per_task = max(1, cpus_per_task)
        self._remote = ray.remote(
            num_cpus=self.cpus_per_task,
            max_retries=RAY_TASK_RETRIES,
            runtime_env={"env_vars": {"SHENGGU_CPU_THREADS": str(self.cpus_per_task)}},
        )(transcribe_file)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.in_flight = max(2, 2 * cpus // self.cpus_per_task)

    def run(self, tasks: Iterable[FileTask], options: BatchOptions) -> Iterator[FileOutcome]:
        """Each task's outcome, as it finishes."""
        running: dict[object, FileTask] = {}
        for task in tasks:
            if len(running) >= self.in_flight:
                yield self._first_finished(running)
            try:
                data = task.path.read_bytes()
            except OSError as exc:
                yield FileOutcome.failed(task.name, exc)
                continue
            running[self._remote.remote(data, task.name, options)] = task
        while running:
            yield self._first_finished(running)

    @staticmethod
    def _first_finished(running: dict[object, FileTask]) -> FileOutcome:
        """The outcome of the task that finishes first, taken out of ``running``."""
        ray = _ray()
        finished, _ = ray.wait(list(running), num_returns=1)
        task = running.pop(finished[0])
        try:
            return ray.get(finished[0])
        except ray.exceptions.RayError as exc:  # its worker died every time it was tried
            return FileOutcome(task.name, None, error_code="worker_lost", error_message=error_info(exc)[1][:300])


def executor_for(ray_address: str | None, cpus_per_task: int = 1) -> Executor:
    """Ray tasks on the cluster at ``ray_address``, else threads here (one file per file-level ASR worker)."""
    if ray_address:
        return RayExecutor(ray_address, cpus_per_task)
    return LocalExecutor(get_settings().asr_parallel_batches)


def connect(address: str, namespace: str | None = None):
    """This process's connection to the Ray cluster at ``address`` (made once); the ``ray`` module."""
    ray = _ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, namespace=namespace, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ClusterUnavailableError(f"no Ray cluster at '{address}': {str(exc).splitlines()[0]}") from None
    return ray


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterUnavailableError("Ray is not installed: pip install 'shenggu[cluster]'") from None
    return ray
