import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.serving import models_cache
from pipelines_app.views import serving

# One application as the demo model's callers send it.
RECORD = {
    "reports": 0,
    "age": 37.7,
    "income": 4.52,
    "owner": "yes",
    "selfemp": "no",
    "dependents": 3,
    "months": 54,
    "majorcards": 1,
    "active": 12,
}


@pytest.fixture(autouse=True)
def _logs_flushed_in_the_request(settings):
    # The flusher thread would write on a connection of its own, which cannot see the test's transaction.
    settings.PREDICTION_LOG_BACKGROUND = False


@pytest.fixture(autouse=True)
def _fresh_caches(redis_url):
    import redis

    from pipelines_app.serving.prediction_log import BUFFER_KEY

    # Entries left by an earlier test name rows that its rolled-back transaction took away.
    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)
    models_cache.forget()
    serving._tokens.forget()
    yield
    models_cache.forget()


@pytest.fixture
def deployed(credit_pipeline, run_inline, editor, redis_url):
    """The demo model trained in this process and serving in staging (the run's open deploy step)."""
    import redis

    from pipelines_app.serving.prediction_log import BUFFER_KEY

    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)
    run = run_inline(start_run(credit_pipeline, editor))
    return run.model_version
