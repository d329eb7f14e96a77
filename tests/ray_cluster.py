"""A real local Ray cluster for tests: a head and a second worker node, both on loopback, shared by every Ray test
of the session (Ray takes seconds to start) and stopped at its end."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shenggu.bench.local_server import free_port

BIN = Path(sys.executable).parent
NODE_CPUS = 3  # logical CPUs per node: the five deployments (one CPU each) fit, over 2 real cores


@contextmanager
def local_cluster() -> Iterator[str]:
    """Start the head and a worker node joining it; yield the head's address."""
    temp = tempfile.mkdtemp(prefix="sgray", dir="/tmp")  # Ray's socket paths must stay short
    address = f"127.0.0.1:{free_port()}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", str(NODE_CPUS), "--disable-usage-stats"]
    head = ["--head", "--port", address.split(":")[1], "--temp-dir", temp, "--include-dashboard", "false"]
    try:
        for args in (head, ["--address", address]):
            subprocess.run([BIN / "ray", "start", *args, *common], check=True, capture_output=True, timeout=180)
        yield address
    finally:
        subprocess.run([BIN / "ray", "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def processes_titled(prefix: str) -> list[int]:
    """Process ids whose title starts with ``prefix`` (Ray titles a worker after its task or replica, e.g.
    ``ray::transcribe_file`` or ``ray::ServeReplica:shenggu-asr``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if title.startswith(prefix.encode()):
                found.append(int(entry.name))
    return found
