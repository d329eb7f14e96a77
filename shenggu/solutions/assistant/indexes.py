"""Built retrieval indexes, kept by knowledge-base version: building one embeds every entry (seconds for a few
hundred), answering with it takes milliseconds.

The key is ``(database, tenant_id, base name, version)``: a stored base's version numbers are never reused, but
only within one database, so the caller names the database too (two apps in one process, e.g. in tests, have
their own). Concurrent requests for an index that is not built yet wait for one build instead of each building.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from shenggu.nlp.faq.retrieval import FaqIndex
from shenggu.nlp.faq.types import KnowledgeBase

DEFAULT_SIZE = 8


class IndexCache:
    """A small thread-safe LRU of ``FaqIndex`` objects."""

    def __init__(self, size: int = DEFAULT_SIZE, build: Callable[[KnowledgeBase], FaqIndex] = FaqIndex) -> None:
        self.size = size
        self._build = build
        self._indexes: OrderedDict[Hashable, FaqIndex] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, kb: Callable[[], KnowledgeBase] | KnowledgeBase) -> FaqIndex:
        """The index of ``key``, built from ``kb`` (or ``kb()``, called only when it must be built)."""
        with self._lock:
            index = self._hit(key)
            if index is not None:
                return index
            build_lock = self._building.setdefault(key, threading.Lock())
        with build_lock:  # one build per key; the others wait for it and find it cached
            with self._lock:
                index = self._hit(key)
                if index is not None:
                    return index
            try:
                index = self._build(kb() if callable(kb) else kb)
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:  # cached and unmarked at once: no later caller can miss both and build again
                self._building.pop(key, None)
                self._indexes[key] = index
                while len(self._indexes) > self.size:
                    self._indexes.popitem(last=False)
            return index

    def _hit(self, key: Hashable) -> FaqIndex | None:
        index = self._indexes.get(key)
        if index is not None:
            self._indexes.move_to_end(key)
        return index

    def __len__(self) -> int:
        with self._lock:
            return len(self._indexes)

    def clear(self) -> None:
        """Forget every index."""
        with self._lock:
            self._indexes.clear()
