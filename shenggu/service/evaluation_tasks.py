"""The ``evaluation`` job behind ``POST /v1/evaluations/runs``: a benchmark run on a stored test set.

The service never imports the benchmarks: the job runs ``python -m shenggu bench asr`` on the set's manifest as a
process, with the server's recognition settings, into the run's folder. The process writes ``done total`` to a
progress file after each clip, which becomes the job's progress (and renews its lease); when the job is cancelled
(or the server stops) the process is stopped and the run's partial files are removed, so a run taken up again
after a restart starts afresh. A benchmark that fails gives the job its readable error line (``error: code:
message``, never a traceback). The job's audio seconds (metered as ``evaluation``) are those the benchmarks
transcribed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from shenggu.config import Settings
from shenggu.errors import ShengguError
from shenggu.reports.results import RESULTS_NAME
from shenggu.service.engines import Engines
from shenggu.service.evaluation_sets import remove_folder

EVALUATION_TASK = "evaluation"  # the job's task, and the capability runs are metered as
BENCHMARKS = ("asr",)  # the test-set tasks a run benchmarks
SKIPPED_TASKS = {  # the others, and why
    "pronunciation": "the pronunciation benchmark correlates the assessor's scores with expert scores, which an "
    "uploaded test set does not carry",
    "diarization": "diarization is not benchmarked on uploaded test sets (it needs reference speaker turns)",
}
PROGRESS_NAME = "progress"
STDERR_NAME = "stderr.log"
HOTWORDS_NAME = "hotwords.txt"
_POLL_SECONDS = 0.5
_STOP_SECONDS = 5.0  # a stopped benchmark's grace before it is killed
_MAX_ERROR_CHARS = 500
# The server's recognition settings, given to the benchmark's process: it measures what the server runs.
_BENCH_SETTINGS = ("home", "asr_engine", "asr_model_dir", "cpu_threads", "asr_batch_size", "asr_parallel_batches")


class EvaluationFailedError(ShengguError):
    """A benchmark process of a run ended with an error (the job's error names it)."""

    code = "evaluation_failed"
    http_status = 422


@dataclass(frozen=True)
class EvaluationRequest:
    """What an ``evaluation`` job runs: the benchmarks of ``tasks`` into the run's folder (relative to the data
    directory), with the engine (None: the server's), the hotwords (the tenant's stored words at submission) and
    at most ``limit`` clips."""

    run_id: str
    run_dir: str
    tasks: tuple[str, ...]
    engine: str | None = None
    hotwords: tuple[str, ...] = ()
    limit: int | None = None

    def to_json(self) -> dict:
        """For the jobs table."""
        return {**asdict(self), "tasks": list(self.tasks), "hotwords": list(self.hotwords)}

    @classmethod
    def from_json(cls, data: dict) -> EvaluationRequest:
        """Back from the jobs table."""
        return cls(**{**data, "tasks": tuple(data["tasks"]), "hotwords": tuple(data.get("hotwords") or ())})


def run_evaluation(
    manifest: Path, options: dict, engines: Engines, progress: Callable[[float], None]
) -> tuple[dict, float]:
    """Run the request's benchmarks on the test set's ``manifest``, one after another: ``({"run_id", "summary":
    {task: the benchmark's summary}}, audio seconds transcribed)``. Raises :class:`EvaluationFailedError` when a
    benchmark fails."""
    request = EvaluationRequest.from_json(options["evaluation"])
    run_dir = engines.settings.data_dir / request.run_dir
    summaries: dict[str, dict] = {}
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        hotwords = run_dir / HOTWORDS_NAME if request.hotwords else None
        if hotwords is not None:
            hotwords.write_text("".join(f"{word}\n" for word in request.hotwords), encoding="utf-8")
        for n, task in enumerate(request.tasks):

            def within(fraction: float, n: int = n) -> None:
                progress((n + fraction) / len(request.tasks))

            command = bench_command(task, manifest, run_dir / task, request, hotwords)
            summaries[task] = _run_bench(task, command, run_dir / task, engines.settings, within)
    except EvaluationFailedError:
        raise  # its files stay, for the operator (the run reports the error)
    except BaseException:
        remove_folder(run_dir)  # cancelled, deleted, or the server stops: a later attempt starts afresh
        raise
    seconds = sum(float(summary.get("audio_seconds") or 0.0) for summary in summaries.values())
    return {"run_id": request.run_id, "summary": summaries}, seconds


def bench_command(task: str, manifest: Path, out: Path, request: EvaluationRequest, hotwords: Path | None) -> list[str]:
    """The command line of a task's benchmark (``asr``) on ``manifest``, writing into ``out``."""
    command = [sys.executable, "-m", "shenggu", "bench", task, "--manifest", str(manifest), "--out", str(out)]
    command += ["--progress", str(out / PROGRESS_NAME)]
    if request.engine:
        command += ["--engine", request.engine]
    if hotwords is not None:
        command += ["--hotwords", str(hotwords)]
    if request.limit:
        command += ["--limit", str(request.limit)]
    return command


def _run_bench(task: str, command: list[str], out: Path, settings: Settings, progress: Callable[[float], None]) -> dict:
    """Run one benchmark process to its end, passing on its progress; its summary. Whatever ``progress`` raises
    (the job was cancelled) stops the process first."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / STDERR_NAME).open("wb") as stderr:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=_bench_env(settings)
        )
        try:
            while True:
                try:
                    process.wait(timeout=_POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    progress(_fraction(out / PROGRESS_NAME))
        except BaseException:
            _stop(process)
            raise
    if process.returncode != 0:
        reason = _error_line(out / STDERR_NAME, process.returncode, settings.data_dir)
        raise EvaluationFailedError(f"the {task} benchmark failed: {reason}")
    return json.loads((out / RESULTS_NAME).read_text(encoding="utf-8"))["summary"]


def _bench_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in _BENCH_SETTINGS:
        value, key = getattr(settings, name), f"SHENGGU_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def _fraction(path: Path) -> float:
    """The benchmark's progress file ``done total`` as a fraction (0 before it is written)."""
    try:
        done, total = (int(n) for n in path.read_text(encoding="utf-8").split())
    except (OSError, ValueError):
        return 0.0
    return min(1.0, done / total) if total > 0 else 0.0


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _error_line(stderr: Path, returncode: int, data_dir: Path) -> str:
    """Why a benchmark process failed, in one line: its last ``error: code: message`` line (the command line's
    way of failing), else its last line; no server folder is named."""
    if returncode < 0:
        return f"its process was stopped by signal {-returncode} (out of memory?)"
    text = stderr.read_text(encoding="utf-8", errors="replace") if stderr.is_file() else ""
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    line = errors[-1] if errors else lines[-1] if lines else f"exit status {returncode}"
    return line.replace(f"{data_dir.resolve()}{os.sep}", "").replace(f"{data_dir}{os.sep}", "")[:_MAX_ERROR_CHARS]
