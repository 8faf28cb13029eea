"""gunicorn's settings for the site: ``gunicorn -c python:mlops_site.gunicorn_conf mlops_site.wsgi …``.

``make run`` (run_stack) starts gunicorn with it; so should any deployment that wants ``/metrics`` to count every
worker. Each worker counts the requests it serves (``serving.metrics``); for a scrape, answered by any one
worker, to see them all, prometheus_client keeps the values in files in a folder every worker shares
(multiprocess mode). That folder must be named before prometheus_client is imported, which ``--preload`` does in
the master, so it is named here, when gunicorn reads its settings, before the app: ``PROMETHEUS_MULTIPROC_DIR``
if set, else ``var/prometheus/``. Its files are removed now, as prometheus_client asks, so that counts start
from zero with the server (Prometheus reads the drop as a counter reset).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

from django.conf import settings  # noqa: E402  (the settings module above first)

_folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.VAR_DIR / "prometheus")
_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
for _stale in _folder.glob("*.db"):
    _stale.unlink()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_folder)

from prometheus_client import multiprocess  # noqa: E402  (only once the folder is named)


def child_exit(server, worker):
    """A worker that exited keeps its counts (its files stay, summed in with the others), but its live gauges go."""
    multiprocess.mark_process_dead(worker.pid)


# How long a thread that wants the interpreter waits for another to give it up (Python's default: 5 ms). A scoring
# request that waits on a socket or a system call lets the process's background threads in (the prediction log's
# flusher, the route and token refreshers); it then gets the interpreter back only after this long. 0.5 ms bounds
# that wait to a tenth, for background threads that never need long stretches of it.
SWITCH_INTERVAL_S = 0.0005


def post_fork(server, worker):
    sys.setswitchinterval(SWITCH_INTERVAL_S)
