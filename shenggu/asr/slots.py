"""Decode slots: how many calls an engine runs at once, and whether optional work should wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DecodeSlots:
    """A counting semaphore that can also say how many of its slots are taken.

    Streams ask before optional work (partials, speculative finals) so that it never queues in front of a final.
    """

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._free = threading.Semaphore(self.count)
        self._taken = 0
        self._guard = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Take a slot for the duration of the block, waiting for one if all are taken."""
        with self._free:
            with self._guard:
                self._taken += 1
            try:
                yield
            finally:
                with self._guard:
                    self._taken -= 1

    @property
    def busy(self) -> bool:
        """Every slot is taken: a new call would wait."""
        return self._taken >= self.count

    @property
    def idle(self) -> bool:
        """No call is running."""
        return self._taken == 0


class SlottedEngine:
    """``busy`` and ``idle`` of an engine whose calls each hold one of its ``_slots``."""

    _slots: DecodeSlots

    @property
    def busy(self) -> bool:
        """Whether every worker is decoding right now (a new call would wait)."""
        return self._slots.busy

    @property
    def idle(self) -> bool:
        """Whether no decode is running."""
        return self._slots.idle
