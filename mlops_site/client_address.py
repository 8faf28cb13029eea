"""The address a request came from, as far as it can be trusted.

Login lockouts (django-axes, through ``AXES_CLIENT_IP_CALLABLE``) and audit rows key on it. ``X-Forwarded-For``
is anyone's to write, so it is read only when the connection itself comes from a proxy listed in
``TRUSTED_PROXIES``; otherwise the peer address (``REMOTE_ADDR``) is the client, whatever the headers say.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(trusted):
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _parse(address):
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def _is_trusted(address, networks):
    return address is not None and any(address in network for network in networks)


def client_address(request):
    """The client's address: REMOTE_ADDR, or behind trusted proxies the address the nearest one reports.

    X-Forwarded-For is read right to left: each trusted proxy appends the address it received the request from,
    so the first entry from the right that is not itself a trusted proxy is the client. Entries further left
    were written by that client and are ignored. A malformed entry where a proxy's should be ends the walk at
    the last address known to be real.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(_parse(remote), networks):
        return remote
    client = remote
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _parse(entry)
        if address is None:
            break
        client = str(address)
        if not _is_trusted(address, networks):
            break
    return client


# Headers a proxy writes to name the client; X-Forwarded-For is the one client_address reads.
_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def client_in(request, allowed):
    """Whether the client (``client_address``) is one of ``allowed`` (addresses or networks), for access granted
    by address alone (``METRICS_ALLOWED_ADDRESSES``).

    Never for a request that a proxy outside TRUSTED_PROXIES forwarded (it carries a forwarding header but comes
    from an untrusted peer): behind a proxy on the same machine that is not listed, every visitor would otherwise
    arrive from 127.0.0.1. An IPv4 address written as IPv6 (``::ffff:10.0.0.5``) is compared as IPv4.
    """
    if not allowed:
        return False
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if not _is_trusted(peer, trusted) and any(request.META.get(header) for header in _FORWARDING_HEADERS):
        return False
    address = _parse(client_address(request))
    if address is None:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in _networks(tuple(allowed)))
