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

from shenggu.errors import ShengguError
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
        queue = iter(tasks)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="archive") as pool:
            running: dict[Future[FileOutcome], FileTask] = {}

            def refill() -> None:
                while len(running) < self.workers and (task := next(queue, None)) is not None:
                    running[pool.submit(transcribe_file, str(task.path), task.name, options)] = task

            refill()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    running.pop(future)
                    yield future.result()  # transcribe_file returns failures as outcomes
                refill()


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
        ray = _ray()
        queue = iter(tasks)
        running: dict[object, FileTask] = {}
        unreadable: list[FileOutcome] = []

        def refill() -> None:
            while len(running) < self.in_flight and (task := next(queue, None)) is not None:
                try:
                    data = task.path.read_bytes()
                except OSError as exc:
                    unreadable.append(FileOutcome.failed(task.name, exc))
                    continue
                running[self._remote.remote(data, task.name, options)] = task

        refill()
        while running or unreadable:
            yield from unreadable
            unreadable.clear()
            if not running:
                refill()
                continue
            finished, _ = ray.wait(list(running), num_returns=1)
            task = running.pop(finished[0])
            try:
                yield ray.get(finished[0])
            except ray.exceptions.RayError as exc:
                yield FileOutcome(task.name, None, error_code="worker_lost", error_message=_first_line(exc))
            refill()

    def shutdown(self) -> None:
        """Disconnect from the cluster (the cluster itself keeps running)."""
        _ray().shutdown()


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]
