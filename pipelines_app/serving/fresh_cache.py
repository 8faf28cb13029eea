"""Values the scoring path reads on every request (routes, tokens), kept fresh off that path.

A value is read from the database the first time a process needs it. Once older than its time to live, the
request still gets the value held, and a thread of the process re-reads it: no request waits for a query or, with
connections closed at the end of each request, for a new database connection (measured: 20–55 ms, once per
second per process, which was the whole p99 of a one-row prediction). The thread opens a connection of its
own for each round of reads. A change (a deployment, a rollback, a revoked token) so reaches the process within
the time to live plus one read. Should the database not answer, the last values stay in use and the thread tries again.

With ``settings.PREDICTION_LOG_BACKGROUND`` off (the tests: a thread's connection cannot see a test's
transaction) a stale value is re-read inline, as on first use.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)
_MAX_ENTRIES = 10_000


class FreshCache:
    """``get(key)`` → ``read(key)``, read at most once per ``ttl_s`` per process and, once read, in the background."""

    def __init__(self, name: str, read: Callable[[Hashable], object], ttl_s: float):
        self.name, self.read, self.ttl_s = name, read, ttl_s
        self._values: dict[Hashable, tuple[float, object]] = {}
        self._stale: set[Hashable] = set()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: tuple[int, threading.Thread] | None = None

    def get(self, key):
        held = self._values.get(key)
        now = time.monotonic()
        if held is not None and now - held[0] < self.ttl_s:
            return held[1]
        if held is not None and settings.PREDICTION_LOG_BACKGROUND:
            self._stale.add(key)
            self._ensure_thread()
            self._wake.set()
            return held[1]
        value = self.read(key)
        self.put(key, value, now)
        return value

    def put(self, key, value, at=None):
        if len(self._values) >= _MAX_ENTRIES and key not in self._values:
            self._values.clear()  # bounded: many made-up keys (unknown tokens) cannot grow it without end
        self._values[key] = (time.monotonic() if at is None else at, value)

    def held(self) -> list:
        """The values held now, without reading anything."""
        return [value for _, value in list(self._values.values())]

    def forget(self, key=None):
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)

    def _ensure_thread(self):
        if self._thread is not None and self._thread[0] == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread[0] == os.getpid():
                return
            thread = threading.Thread(target=self._refresh_loop, name=f"{self.name}-refresher", daemon=True)
            self._thread = (os.getpid(), thread)
            thread.start()

    def _refresh_loop(self):
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._stale:
                key = self._stale.pop()
                try:
                    self.put(key, self.read(key))
                except Exception:  # noqa: BLE001  (the values held stay in use; the next request asks again)
                    log.exception("re-reading %s %r failed", self.name, key)
                    time.sleep(0.5)
            # Closed between rounds, as a request's is: its cost is this thread's, and no connection is left
            # open in an idle process (or in front of a test database being dropped).
            connection.close()
