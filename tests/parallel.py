"""The suite in several processes (pytest-xdist, ``make test`` runs two): each process gets a var folder of its
own, and with it its own artifacts, worker logs and SQLite files; pytest-django already gives each its own test
database and ``tests/conftest.py`` its own Redis database (``redis_db()``).

Loaded with ``-p tests.parallel`` (pyproject.toml), so that it runs before Django's settings are read: the var
folder is read once, at import of ``mlops_site.settings``.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_index():
    """0 for the first xdist process (``gw0``) or a run without xdist, 1 for ``gw1``, and so on."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


def redis_db():
    """The Redis database a test process keeps to, counting down from 15 (flushed at the start of its session)."""
    return 15 - worker_index()


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    _base = Path(os.environ.get("MLOPS_VAR_DIR", ROOT / "var"))
    os.environ["MLOPS_VAR_DIR"] = str(_base / f"tests-{_worker}")


# Files that take the longest (each a minute or so: whole stacks, killed workers, browsers). Handed out first, so
# that they run beside the many short files rather than alone at the end.
LONG_FIRST = ("tests/ops/test_make_run.py", "tests/reliability/", "tests/e2e/", "tests/security/test_audit_tail.py")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return next((i for i, prefix in enumerate(LONG_FIRST) if path.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: within a rank, the collected order
