"""The one way the site calls out over HTTP: the webhooks of run notifications, notify steps and alerts.

Every call is http(s) to a host on ``NOTIFY_ALLOWED_HOSTS`` or, when the list is empty, to a public internet host.
The host name is resolved when the call is made and every address it resolves to is checked (loopback, private,
link-local, multicast, reserved... are refused unless the host is listed); the connection then goes to the checked
address itself, so a DNS answer that changes between the check and the connection cannot send it elsewhere.
Redirects are not followed (a 3xx is a failed delivery), connecting and each read have a timeout, and at most
``MAX_RESPONSE_BYTES`` of an answer are read. The caller (``notifications.deliver``) keeps each call as a
``Delivery`` row and audits a refused one, since it is what an attempt to reach the site's own network looks like.
"""

import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass

from django.conf import settings

from pipelines_app.spec.destinations import DestinationRefused, address_problem, is_listed, split_destination

MAX_RESPONSE_BYTES = 1024
# A host with many addresses could otherwise hold a worker for attempts × addresses × timeout.
MAX_ADDRESSES_TRIED = 3
USER_AGENT = "MLOps-Site-webhook/1"
# How a call ended (the values of Delivery.Status that a call can end in).
DELIVERED, FAILED, REFUSED = "delivered", "failed", "refused"


@dataclass
class Outcome:
    status: str
    attempts: int
    http_status: int | None = None
    error: str = ""


def destination_problem(url):
    """Why `url` may not be a webhook under the current settings, or None; validation's check (no DNS)."""
    try:
        split_destination(url, settings.NOTIFY_ALLOWED_HOSTS)
    except DestinationRefused as exc:
        return str(exc)
    return None


def post_json(url, payload, *, attempts=3, timeout=None, backoff_s=1.0):
    """POST JSON, retrying network errors and 5xx; a refused destination is never retried, nor a 3xx or 4xx."""
    allowed = settings.NOTIFY_ALLOWED_HOSTS
    timeout = timeout or settings.NOTIFY_TIMEOUT_S
    body = json.dumps(payload, default=str).encode()
    error, http_status = "", None
    for attempt in range(1, attempts + 1):
        try:
            # Checked again on every attempt: the name may resolve elsewhere by now.
            parts = split_destination(url, allowed)
            targets = _resolve(parts.hostname, parts.port or _default_port(parts.scheme), allowed)
            http_status, detail = _post_to_first_answering(parts, targets, body, timeout)
        except DestinationRefused as exc:
            return Outcome(REFUSED, attempt, error=str(exc))
        except (OSError, http.client.HTTPException) as exc:
            error, http_status = f"no answer: {exc or type(exc).__name__}", None
        else:
            if 200 <= http_status < 300:
                return Outcome(DELIVERED, attempt, http_status)
            error = f"answered {http_status}{detail}"
            if http_status < 500:
                return Outcome(FAILED, attempt, http_status, error)
        if attempt < attempts:
            time.sleep(backoff_s * attempt)
    return Outcome(FAILED, attempts, http_status, f"{error} after {attempts} attempt(s)")


def _default_port(scheme):
    return 443 if scheme == "https" else 80


def _resolve(host, port, allowed):
    """Every address `host` resolves to, each checked unless an admin listed the host."""
    listed = is_listed(host, allowed)
    targets = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if not listed:
            problem = address_problem(ipaddress.ip_address(sockaddr[0]))
            if problem:
                raise DestinationRefused(f"host '{host}' resolves to {problem}")
        targets.append((family, sockaddr))
    if not targets:
        raise OSError(f"'{host}' resolves to no address")
    return targets


def _post_to_first_answering(parts, targets, body, timeout):
    """(HTTP status, a few words about a non-2xx answer) from the first address that takes the connection."""
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    last_error = None
    for target in targets[:MAX_ADDRESSES_TRIED]:
        connection = _PinnedConnection(parts.scheme, parts.hostname, parts.port, target, timeout)
        try:
            connection.connect()
        except OSError as exc:
            last_error = exc
            connection.close()
            continue
        try:
            connection.request(
                "POST", path, body=body, headers={"Content-Type": "application/json", "User-Agent": USER_AGENT}
            )
            response = connection.getresponse()
            excerpt = response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace").strip()
            if 300 <= response.status < 400:
                location = (response.getheader("Location") or "")[:200]
                return response.status, f" (a redirect to '{location}'; redirects are not followed)"
            return response.status, f": {excerpt[:200]}" if excerpt and response.status >= 300 else ""
        finally:
            connection.close()
    raise last_error


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to one checked address, with the URL's host name for the Host header and TLS."""

    def __init__(self, scheme, host, port, target, timeout):
        super().__init__(host, port or _default_port(scheme), timeout=timeout)
        self.scheme, self.target = scheme, target

    def connect(self):
        family, sockaddr = self.target
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(sockaddr)
            if self.scheme == "https":
                # Certificates are checked against the name in the URL, not the address connected to.
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
