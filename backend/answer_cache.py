"""An in-process cache of describe answers, so a repeated image costs neither decoding nor a database join.

The extension asks for the same image again on every visit to a page, and a
cache hit over HTTP must stay cheap. The database keeps the durable cache
(``storage.cached_generations``); this one sits in front of it, in each worker.

The key is (image SHA-256, context SHA-256, model version): a hot-swapped model
has a new version, so every answer of the old one misses by construction. Only
answers whose generation is stored go in, so the ``generation_id`` a hit
returns is one that feedback can use. The cache is bounded by entries (least
recently used go first) and by age: another process may delete generations
(``drop-client``), and an entry older than ``ttl_s`` is no longer served.
"""
from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

Key = tuple[str, str, str]  # image sha256, context sha256, model version


class AnswerCache:
    """A thread-safe LRU of describe results with a time to live; ``max_entries=0`` turns it off."""

    def __init__(self, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[Key, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> dict[str, Any] | None:
        """A copy of the stored result marked ``cached``, or None (absent or expired)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, result = entry
            if self.clock() - stored_at > self.ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        return dict(copy.deepcopy(result), cached=True)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(self, key: Key, result: dict[str, Any]) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = (self.clock(), copy.deepcopy(result))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
