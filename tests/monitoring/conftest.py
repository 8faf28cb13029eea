from tests.serving.conftest import _fresh_caches, _logs_flushed_in_the_request, deployed  # noqa: F401
