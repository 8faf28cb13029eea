"""``make run``: set up and start everything on one machine, stop it all on Ctrl-C.

Migrates, collects static files, seeds the demo, starts Redis privately
unless REDIS_URL is set, then a Celery worker (queues default, training,
monitoring), a notifier (queue notifications: e-mail and webhook deliveries,
in threads, so that a receiver that hangs holds up no step), Celery beat and
the web server (gunicorn; runserver with --dev).
"""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mlops_site.local_redis import PrivateRedis, url_answers

QUEUES = "default,training,monitoring"


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
            self._start_processes(env, port, dev)
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
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)

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

    def _start_processes(self, env, port, dev):
        python = sys.executable
        run_dir = settings.VAR_DIR / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "mlops_site",
                "worker",
                "-Q",
                QUEUES,
                "--loglevel",
                "INFO",
                "--concurrency",
                str(settings.WORKER_CONCURRENCY),
                "-n",
                "worker@%h",
            ],
            env,
        )
        self._spawn(
            "notifier",
            [
                python,
                "-m",
                "celery",
                "-A",
                "mlops_site",
                "worker",
                "-Q",
                "notifications",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--loglevel",
                "INFO",
                "-n",
                "notifier@%h",
            ],
            env,
        )
        beat_pid = run_dir / "beat.pid"
        beat_pid.unlink(missing_ok=True)
        self._spawn(
            "beat",
            [python, "-m", "celery", "-A", "mlops_site", "beat", "--loglevel", "INFO", "--pidfile", str(beat_pid)],
            env,
        )
        if dev:
            self._spawn("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}"], env)
        else:
            self._spawn(
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "mlops_site.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(settings.WEB_CONCURRENCY),
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                    "--graceful-timeout",
                    "10",
                ],
                env,
            )
        deadline = time.monotonic() + 60
        while not port_in_use(port):
            self._check_children()
            if time.monotonic() > deadline:
                raise CommandError(f"the web server did not listen on port {port} within 60 s")
            time.sleep(0.2)

    def _announce(self, port):
        self.stdout.write(self.style.SUCCESS(f"\nMLOps Site is running on http://127.0.0.1:{port}/"))
        self.stdout.write("Log in with a demo login above. Ctrl-C stops everything.")
        self.stdout.write(
            "Once a model is deployed (run the credit card pipeline, approve it), give the dashboards traffic:\n"
            f"  PORT={port} .venv/bin/python manage.py simulate_traffic --model credit-card-approval "
            "--environment production --rows 5000 --drift income=1.5 --drift-after 2000 --feedback-rate 0.8\n"
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
