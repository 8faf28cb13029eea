"""Durations such as approval timeouts: '30m', '24h', '2d', '1h30m', '45s'."""

import re

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (86400, 3600, 60, 1)
EXAMPLES = '"30m", "24h", "2d" or "1h30m"'


class DurationError(ValueError):
    """A duration that does not parse; the message says what a duration looks like."""


def parse_duration(text: str) -> int:
    """Seconds in a duration written with units d, h, m and s, largest first; raise DurationError otherwise."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise DurationError(f"must be text with a unit, e.g. {EXAMPLES}")
    if isinstance(text, int) and text > 0:
        raise DurationError(f"{text} needs a unit, e.g. '{text}s' or '{text}m'")
    if isinstance(text, int):
        raise DurationError(f"{text} is not a duration; write a number with a unit, e.g. {EXAMPLES}")
    compact = text.strip().lower().replace(" ", "")
    match = _DURATION.match(compact)
    if not compact or not match:
        raise DurationError(f"'{text}' is not a duration; write a number with a unit, e.g. {EXAMPLES}")
    seconds = sum(int(amount) * unit for amount, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if amount)
    if seconds <= 0:
        raise DurationError(f"'{text}' is no time at all; a duration must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """Seconds written as parse_duration reads them, largest units first: 5400 -> '1h30m'."""
    parts = []
    for unit, name in zip(_UNIT_SECONDS, "dhms", strict=True):
        amount, seconds = divmod(seconds, unit)
        if amount:
            parts.append(f"{amount}{name}")
    return "".join(parts) or "0s"
