"""Decode slots: how many calls an engine runs at once, and whether optional work should wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DecodeSlots:
    """A counting semaphore that can also say how many of its slots are taken, and lets urgent calls go first.

    Streams ask before optional work (partials, speculative finals) so that it never queues in front of a final;
    a live stream's final is urgent: it takes the next free slot before any call already waiting that is not (a
    file's next window), so a stream waits at most for the calls running when its sentence closed.
    """

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._taken = 0
        self._urgent_waiting = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, urgent: bool = False) -> Iterator[None]:
        """Take a slot for the duration of the block, waiting for one if all are taken (behind every urgent
        waiter unless ``urgent``)."""
        with self._changed:
            self._urgent_waiting += urgent
            try:
                self._changed.wait_for(lambda: self._taken < self.count and (urgent or not self._urgent_waiting))
            finally:
                self._urgent_waiting -= urgent
                if urgent:
                    self._changed.notify_all()  # the calls it held back may take another free slot
            self._taken += 1
        try:
            yield
        finally:
            with self._changed:
                self._taken -= 1
                self._changed.notify_all()

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
