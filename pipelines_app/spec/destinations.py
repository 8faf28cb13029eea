"""Where a webhook may point: http(s) to a public internet host, or to a host an admin listed.

Pure checks shared by validation (pipeline files, alert rules) and by the outbound client, which repeats them on
every address a host name resolves to at send time. Validation cannot resolve names (the answer may change before
the call), so here a host name passes unless it is plainly local; the send-time check is the one that holds.
"""

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Up to four dotted numbers, decimal, octal or hex: the forms inet_aton reads as an IPv4 address. Matched first
# because inet_aton also reads "127.0.0.1 anything" as 127.0.0.1.
_IPV4_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


class DestinationRefused(ValueError):
    """A webhook address the site will not call; the message says why, as a sentence."""


def normalise_host(host: str) -> str:
    """Lower case without the trailing dot of a fully qualified name, as the allow-list compares hosts."""
    return host.strip().lower().rstrip(".")


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, shorthand forms included ("127.1",
    "2130706433", "0x7f.1" all mean 127.0.0.1 to the resolver); None for a host name."""
    host = normalise_host(host).strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _IPV4_NUMBER.match(host):
        # What the C resolver would read as an IPv4 number, in any of its shorthand forms.
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why a request must not go to `address`, or None when it is a public internet address."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 reaches 127.0.0.1, and 6to4 addresses carry an IPv4 address too: judge the one inside.
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return address_problem(inner)
    kinds = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (where cloud metadata services answer)"),
        ("is_private", "a private address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, kind in kinds:
        if getattr(address, attribute):
            return f"{address} is {kind}"
    if not address.is_global:
        return f"{address} is not a public internet address"
    return None


def is_listed(host: str, allowed_hosts) -> bool:
    """Whether `host` is on the allow-list: an exact name or address, or '.example.com' for it and its subdomains."""
    host = normalise_host(host)
    address = literal_address(host)
    for entry in allowed_hosts or ():
        entry = normalise_host(entry)
        if entry.startswith(".") and (host == entry[1:] or host.endswith(entry)):
            return True
        if host == entry.strip("[]") or (address is not None and address == literal_address(entry)):
            return True
    return False


def split_destination(url: str, allowed_hosts=()) -> SplitResult:
    """`url` split, once it passes every check that needs no DNS; raises DestinationRefused.

    An empty allow-list means any public internet host; a listed host is trusted as it is, even on a private
    network (an admin listed it); with a non-empty list, only listed hosts.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"'{url}' is not a valid address ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused(f"'{url}' is not an http(s) address; webhooks are only called over http or https")
    if not parts.hostname:
        raise DestinationRefused(f"'{url}' names no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(f"'{url}' carries credentials before the host; put a token in the path instead")
    if port == 0:
        raise DestinationRefused(f"'{url}' names port 0")
    host = normalise_host(parts.hostname)
    if is_listed(host, allowed_hosts):
        return parts
    if allowed_hosts:
        raise DestinationRefused(f"host '{host}' is not in NOTIFY_ALLOWED_HOSTS")
    address = literal_address(host)
    if address is not None:
        problem = address_problem(address)
        if problem:
            raise DestinationRefused(
                f"'{url}' is refused: {problem} (an admin may list the host in NOTIFY_ALLOWED_HOSTS)"
            )
    elif host == "localhost" or host.endswith(".localhost") or "." not in host:
        # "localhost" and single-label names resolve on the machine or its local network, never the internet.
        raise DestinationRefused(
            f"'{url}' is refused: '{host}' is a local host name (an admin may list it in NOTIFY_ALLOWED_HOSTS)"
        )
    return parts


def destination_problem(url: str, allowed_hosts=()) -> str | None:
    """The reason `url` may not be a webhook, or None."""
    try:
        split_destination(url, allowed_hosts)
    except DestinationRefused as exc:
        return str(exc)
    return None
