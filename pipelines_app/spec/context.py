"""What the database knows that a pipeline file may refer to; the caller fills in what it wants checked."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApproverLimits:
    """What a protected environment lets an approval step before a deploy there ask for: only groups it trusts
    (its own and role groups above them), at least its number of approvals, and no approval on timeout."""

    groups: frozenset[str]
    min_approvals: int


@dataclass
class SpecContext:
    """Known names from the database. None (or empty) for a field means "do not check these names"."""

    environments: set[str] | None = None
    groups: set[str] | None = None
    datasets: set[str] | None = None
    # Protected environments by name: a file may narrow their rules, never lower them (DESIGN.md §8).
    protected_environments: dict[str, ApproverLimits] = field(default_factory=dict)
    # NOTIFY_ALLOWED_HOSTS for 'webhook:' recipients. Unlike the names above, empty has a meaning (public internet
    # hosts only), so None alone means "do not check webhook addresses".
    webhook_allowed_hosts: list[str] | None = None
    # STEP_TIMEOUT_MAX in seconds: a step's step_timeout may not ask for more. None: not checked.
    step_timeout_max: int | None = None
