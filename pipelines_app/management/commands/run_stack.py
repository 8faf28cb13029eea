"""``make run``: set up and start everything on one machine, stop it all on Ctrl-C.

Migrates, collects static files (unless nothing changed since the last time), starts Redis privately unless
REDIS_URL is set, then the web server (gunicorn; runserver with --dev) while it seeds the demo, and once the
login page answers, a Celery worker (queues default, training, monitoring), a notifier (queue notifications:
e-mail and webhook deliveries, in threads, so that a receiver that hangs holds up no step) and Celery beat. The
address is printed when the site answers, not before.

Where the time went on a 2-core machine (each figure alone, venv built): importing the app (Django, then
scikit-learn, scipy, skops through the step registry) about 4 s in every process; collectstatic with the
compressed manifest about 6 s; seeding about 2 s, most of it hashing the demo password, once per user. Before,
two gunicorn workers each imported the app on their first request while the Celery worker, notifier and beat
imported it too: five imports on two cores, and the first page waited 20 s or more behind them. Now gunicorn
imports once (``--preload``, URLs and views included, ``mlops_site.wsgi``) and forks its workers warm, the seeding
runs meanwhile, the Celery processes start once the site answers, collectstatic is skipped when no static file
changed, and the password is hashed once.
"""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mlops_site.local_redis import PrivateRedis, url_answers

QUEUES = "default,training,monitoring"
ANSWER_TIMEOUT_S = 180


def port_in_use(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Command(BaseCommand):
    help = "Set up and run the whole site on one machine (web, worker, beat, Redis). Ctrl-C stops it all."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--dev", action="store_true", help="use Django's runserver (auto-reload, DEBUG on)")

    def handle(self, port, dev, **options):
        if port_in_use(port):
            raise CommandError(f"port {port} is already in use: stop what runs there or set PORT=<another port>")
        self.children = []
        self.redis = None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._setup()
            env = self._child_env(dev)
            self._start_web(env, port, dev)
            call_command("seed_demo", stdout=self.stdout)  # while the web server starts
            self._wait_until_answering(port)
            self._start_workers(env)
            self._announce(port)
            self._watch()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop_all()
        self.stdout.write("Stopped web server, worker, beat" + (" and Redis." if self.redis else "."))

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt

    def _setup(self):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        self._collect_static()

    def _collect_static(self):
        """collectstatic, unless the static files and the storage are what they were the last time: with the
        compressed manifest it hashes and compresses every file again, some seconds for nothing."""
        fingerprint = static_fingerprint()
        stamp = settings.VAR_DIR / "run" / "static-fingerprint"
        storage = settings.STORAGES["staticfiles"]["BACKEND"]
        collected = (settings.STATIC_ROOT / "staticfiles.json").exists() or (
            "Manifest" not in storage and any(settings.STATIC_ROOT.iterdir())
        )
        if collected and stamp.exists() and stamp.read_text() == fingerprint:
            self.stdout.write("Static files unchanged.")
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)
        self.stdout.write("Static files collected.")

    def _child_env(self, dev):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if dev:
            env["DEBUG"] = "1"
        # The environment, not settings.REDIS_URL (which falls back to a private Redis's address): only an address
        # given by the user means "do not start one".
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            if not url_answers(redis_url):
                raise CommandError(f"REDIS_URL={redis_url} does not answer")
            self.stdout.write(f"Redis: {redis_url}")
        else:
            self.redis = PrivateRedis(settings.VAR_DIR / "redis")
            redis_url = self.redis.start()
            env["REDIS_URL"] = redis_url
            self.stdout.write(f"Redis: started privately at {redis_url} (files in {self.redis.folder})")
        env.setdefault("CELERY_BROKER_URL", redis_url)
        return env

    def _spawn(self, name, args, env):
        process = subprocess.Popen(args, env=env, cwd=settings.BASE_DIR)
        self.children.append((name, process))
        return process

    def _start_web(self, env, port, dev):
        python = sys.executable
        if dev:
            self._spawn("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}"], env)
            return
        self._spawn("web", gunicorn_command(port, settings.WEB_CONCURRENCY), env)

    def _wait_until_answering(self, port):
        """Return once the login page answers 200: the address printed next must work when clicked."""
        url = f"http://127.0.0.1:{port}/accounts/login/"
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"{url} did not answer within {ANSWER_TIMEOUT_S} s")
            time.sleep(0.2)

    def _start_workers(self, env):
        python = sys.executable
        run_dir = settings.VAR_DIR / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        celery = [python, "-m", "celery", "-A", "mlops_site"]
        worker = [*celery, "worker", "--loglevel", "INFO", "-Q"]
        concurrency = str(settings.WORKER_CONCURRENCY)
        self._spawn("worker", [*worker, QUEUES, "--concurrency", concurrency, "-n", "worker@%h"], env)
        # Deliveries wait on the network: threads, and a worker of their own so that no step waits behind them.
        self._spawn(
            "notifier", [*worker, "notifications", "--pool", "threads", "--concurrency", "4", "-n", "notifier@%h"], env
        )
        beat_pid = run_dir / "beat.pid"
        beat_pid.unlink(missing_ok=True)
        self._spawn(
            "beat",
            [*celery, "beat", "--loglevel", "INFO", "--pidfile", str(beat_pid)],
            env,
        )

    def _announce(self, port):
        self.stdout.write(self.style.SUCCESS(f"\nMLOps Site is running on http://127.0.0.1:{port}/"))
        self.stdout.write("Log in with a demo login above. Ctrl-C stops everything.")
        self.stdout.write(
            "Once a model is deployed (run the credit card pipeline, approve it), give the dashboards traffic:\n"
            f"  PORT={port} .venv/bin/python manage.py simulate_traffic --model credit-card-approval "
            "--rows 3000 --drift income=1.5 --drift-after 2000 --feedback-rate 0.8\n"
            "(three days of applications, the last day's incomes half as high again)\n"
        )
        self.stdout.flush()

    def _check_children(self):
        for name, process in self.children:
            if process.poll() is not None:
                raise CommandError(f"the {name} process exited with code {process.returncode}; stopping the rest")

    def _watch(self):
        while True:
            self._check_children()
            time.sleep(1)

    def _stop_all(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for _, process in self.children:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 20
        for _, process in self.children:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.redis:
            self.redis.stop()


def gunicorn_command(port, workers):
    """The web server as ``make run`` starts it (tests/ops/test_metrics_under_gunicorn.py starts the same)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        # /metrics counts every worker (prometheus_client's multiprocess mode; see the module).
        "--config",
        "python:mlops_site.gunicorn_conf",
        "mlops_site.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        # The app is imported once, before the workers fork: they start warm, and share its memory.
        "--preload",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]


def static_fingerprint() -> str:
    """A hash of every static file's name, size and time of change as the finders see them, and of the storage
    that collects them: it changes when collectstatic has something to do."""
    digest = hashlib.sha256(repr((settings.STORAGES["staticfiles"], str(settings.STATIC_ROOT))).encode())
    for finder in get_finders():
        for path, storage in sorted(finder.list([]), key=lambda found: found[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
