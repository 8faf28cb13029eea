"""serving/fresh_cache.py: a value past its time to live is still answered at once, and re-read by a thread."""

import threading

from pipelines_app.serving.fresh_cache import FreshCache
from tests.conftest import wait_for


def test_a_stale_value_is_answered_at_once_and_refreshed_in_the_background(settings):
    settings.PREDICTION_LOG_BACKGROUND = True
    reads, release = [], threading.Event()

    def read(key):
        reads.append(threading.current_thread().name)
        if len(reads) > 1:
            release.wait(5)  # a slow database: the request must not wait for it
        return len(reads)

    cache = FreshCache("test", read, ttl_s=0.0)
    assert cache.get("k") == 1 and reads == ["MainThread"]  # first use: read in the request
    assert cache.get("k") == 1  # stale: the value held, at once, while the thread reads
    release.set()
    wait_for(lambda: cache.get("k") == 2, 5, message="the background read")
    assert reads[1] == "test-refresher"


def test_without_background_threads_a_stale_value_is_read_inline(settings):
    settings.PREDICTION_LOG_BACKGROUND = False
    counter = iter(range(1, 100))
    cache = FreshCache("inline", lambda key: next(counter), ttl_s=0.0)
    assert [cache.get("k"), cache.get("k"), cache.get("k")] == [1, 2, 3]


def test_a_failing_read_keeps_the_value_held(settings):
    settings.PREDICTION_LOG_BACKGROUND = True
    attempts = []

    def read(key):
        attempts.append(key)
        if len(attempts) > 1:
            raise RuntimeError("the database is down")
        return "deployed"

    cache = FreshCache("failing", read, ttl_s=0.0)
    assert cache.get("k") == "deployed"
    assert cache.get("k") == "deployed"
    wait_for(lambda: len(attempts) >= 2, 5, message="the background attempt")
    assert cache.get("k") == "deployed"
