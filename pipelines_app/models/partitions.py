"""Daily partitions of the prediction log on PostgreSQL (DESIGN §3): the table never grows without bound.

``pipelines_app_predictionlog`` is partitioned by range of ``created_at``, one partition per UTC day
(``…_p20261201``), plus a default partition for rows of a day that has none (requests backdated by the traffic
simulator, a clock far off). Dropping a day is dropping its table: a catalogue change, not a delete of millions of
rows. ``monitoring.retention`` creates the days ahead and drops the expired ones; the migration that made the
table partitioned uses the same statements. Other databases keep a plain table, trimmed by a delete.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

TABLE = "pipelines_app_predictionlog"
DEFAULT = f"{TABLE}_default"
_DAY = re.compile(rf"^{TABLE}_p(\d{{8}})$")


def name_for(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def create_sql(day: date, parent: str = TABLE) -> str:
    start, end = bounds(day)
    return (
        f"CREATE TABLE IF NOT EXISTS {name_for(day)} PARTITION OF {parent} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def default_sql(parent: str = TABLE) -> str:
    return f"CREATE TABLE IF NOT EXISTS {DEFAULT} PARTITION OF {parent} DEFAULT"


def is_partitioned(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s AND relkind IN ('p', 'r')", [TABLE])
        found = cursor.fetchone()
    return bool(found) and found[0] == "p"


def days(connection) -> dict[date, str]:
    """The day partitions the table has now: {day: table name}."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent "
            "JOIN pg_class child ON child.oid = inhrelid WHERE parent.relname = %s",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = {}
    for name in names:
        match = _DAY.match(name)
        if match:
            found[datetime.strptime(match[1], "%Y%m%d").date()] = name
    return found
