"""Cron expressions of schedule triggers: the classic five fields, each checked with a message naming the field.

Accepted per field: '*', a number, a range 'a-b', a step '*/n' or 'a-b/n', and comma-separated lists of these;
months and weekdays may also be written as names (JAN-DEC, SUN-SAT, any case). Day of week 0 and 7 are Sunday.
Shortcuts such as '@daily' and Quartz extensions ('?', 'L', 'W', '#') are not cron as beat schedules it.
"""

import re
from dataclasses import dataclass

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELD_LAYOUT = "minute hour day-of-month month day-of-week"
_NUMBER = re.compile(r"^\d+$")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]
    names_hint: str = ""


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {name: number for number, name in enumerate(MONTH_NAMES, start=1)}, "JAN-DEC"),
    _Field("day of week", 0, 7, {name: number for number, name in enumerate(DAY_NAMES)}, "SUN-SAT"),
)


class CronError(ValueError):
    """A cron expression that does not parse; the message is a plain sentence naming the expression."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression: the values each field allows (day of week 0-6, Sunday 0)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    def as_crontab_fields(self) -> dict[str, str]:
        """Numbers only, names resolved, '*' where a field allows everything: what a crontab row stores."""
        fields = zip(
            ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"),
            (self.minutes, self.hours, self.days_of_month, self.months, self.days_of_week),
            ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6)),
            strict=True,
        )
        return {
            key: "*" if values == frozenset(range(low, high + 1)) else ",".join(str(value) for value in sorted(values))
            for key, values, (low, high) in fields
        }


def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field cron expression or raise CronError saying what is wrong with which field."""
    if not isinstance(expression, str):
        raise CronError('cron must be text in quotes, e.g. "0 3 * * 1"')
    prefix = f'cron "{expression}"'
    text = expression.strip()
    if text.startswith("@"):
        raise CronError(
            f'{prefix}: shortcuts like {text.split()[0]} are not supported; write the five fields, e.g. "0 0 * * *"'
        )
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"{prefix}: expected 5 fields ({FIELD_LAYOUT}), got {len(parts)}")
    values = [_parse_field(part, spec, prefix) for part, spec in zip(parts, _FIELDS, strict=True)]
    # 7 is a second spelling of Sunday.
    days_of_week = frozenset(0 if day == 7 else day for day in values[4])
    return CronSchedule(expression, values[0], values[1], values[2], values[3], days_of_week)


def _parse_field(text: str, spec: _Field, prefix: str) -> frozenset[int]:
    allowed: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{prefix}: {spec.name} '{text}' has an empty item between commas")
        allowed.update(_parse_item(item, spec, prefix))
    return frozenset(allowed)


def _parse_item(item: str, spec: _Field, prefix: str) -> range:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _NUMBER.match(step_text):
            raise CronError(f"{prefix}: {spec.name} step '{step_text}' is not a whole number")
        step = int(step_text)
        if step < 1:
            raise CronError(f"{prefix}: {spec.name} step {step} must be at least 1")
    if base == "*":
        return range(spec.low, spec.high + 1, step)
    start_text, dash, end_text = base.partition("-")
    start = _parse_value(start_text, spec, prefix)
    if not dash:
        if slash:
            raise CronError(
                f"{prefix}: {spec.name} '{item}' needs a range or '*' before the step, "
                f"e.g. '{start_text}-{spec.high}/{step}' or '*/{step}'"
            )
        return range(start, start + 1)
    end = _parse_value(end_text, spec, prefix)
    if end < start:
        raise CronError(
            f"{prefix}: {spec.name} range {start_text}-{end_text} runs backwards; write the smaller value first"
        )
    return range(start, end + 1, step)


def _parse_value(text: str, spec: _Field, prefix: str) -> int:
    if _NUMBER.match(text):
        value = int(text)
        if not spec.low <= value <= spec.high:
            raise CronError(f"{prefix}: {spec.name} {value} is out of range {spec.low}-{spec.high}")
        return value
    if text.upper() in spec.names:
        return spec.names[text.upper()]
    if not text:
        raise CronError(f"{prefix}: {spec.name} has a range with a missing end")
    if spec.names:
        kind = "month" if spec.name == "month" else "weekday"
        raise CronError(f"{prefix}: {spec.name} '{text}' is not a number or a {kind} name ({spec.names_hint})")
    raise CronError(f"{prefix}: {spec.name} '{text}' is not a number")
