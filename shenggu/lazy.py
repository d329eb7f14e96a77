"""Process-wide objects built lazily, once, thread-safe: models, dictionaries and indexes."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def once_per(key: Callable[P, Hashable]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a factory so it runs at most once per process for each distinct ``key(*args)`` (e.g. the settings
    a model is built with), even when threads race to call it; later calls with an equal key share the object."""

    def decorate(factory: Callable[P, T]) -> Callable[P, T]:
        lock = threading.Lock()
        built: dict[Hashable, T] = {}

        @functools.wraps(factory)
        def get(*args: P.args, **kwargs: P.kwargs) -> T:
            wanted = key(*args, **kwargs)
            if wanted not in built:
                with lock:
                    if wanted not in built:
                        built[wanted] = factory(*args, **kwargs)
            return built[wanted]

        return get

    return decorate


def once(factory: Callable[[], T]) -> Callable[[], T]:
    """Wrap a zero-argument factory so it runs at most once per process, even when threads race to call it."""
    return once_per(lambda: None)(factory)
