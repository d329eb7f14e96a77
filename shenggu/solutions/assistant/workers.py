"""Threads for the model work of the assistant's conversations: index builds, ASR, retrieval, TTS.

Not the event loop's default threads: those are daemon threads, killed mid-inference when the process exits
(onnxruntime then aborts the process); these are joined at exit. One pool serves every conversation of a
server, so its size bounds the assistant's model work however many kiosks are connected.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Workers:
    """A thread pool of ``size`` threads that coroutines hand blocking work to (a server's size is the
    ``assistant_workers`` setting)."""

    def __init__(self, size: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="assistant")

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args))
