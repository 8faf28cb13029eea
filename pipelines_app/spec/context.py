"""What the database knows that a pipeline file may refer to; the caller fills in what it wants checked."""

from dataclasses import dataclass


@dataclass
class SpecContext:
    """Known names from the database. None (or empty) for a field means "do not check these names"."""

    environments: set[str] | None = None
    groups: set[str] | None = None
    datasets: set[str] | None = None
