"""A step that does nothing, and bare Celery tasks: what the engine benchmark measures against."""

import time
from typing import Literal

import redis
from celery import shared_task
from django.conf import settings

from pipelines_app.spec import BaseStep


class NoopStep:
    """Registered as step type "noop" for the benchmark (PIPELINE_STEP_TYPES)."""

    class Spec(BaseStep):
        type: Literal["noop"] = "noop"

    def run(self, ctx):
        return {}


@shared_task(name="benchmarks.hop")
def hop(remaining, sent_at):
    """Bare Celery: record how long this message took to start, then send the next one."""
    now = time.time()
    redis.Redis.from_url(settings.REDIS_URL).rpush("bench:hops", now - sent_at)
    if remaining > 1:
        hop.apply_async(args=[remaining - 1, time.time()])


@shared_task(name="benchmarks.empty")
def empty(key):
    """Bare Celery: an empty task that only counts itself (the burst reference)."""
    redis.Redis.from_url(settings.REDIS_URL).incr(key)
