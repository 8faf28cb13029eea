"""An environment's protection rules (DESIGN.md §8), checked here and nowhere else.

The environment's rules are the floor. A pipeline file, an API body or a
trigger may narrow who decides or raise how many must agree, never the other
way. Every path that lets a model into an environment asks this module: the
approval step and the deploy step when they open a request, ``decide()`` when
someone approves, the deploy step when it weighs an earlier approval, the
timeout sweep, the evidence page (which shows the reason a person may not
decide), and file validation (through ``approver_limits``).

Who counts as a member of a group: its members, and for the role groups
(viewers < editors < reviewers < admins) everyone whose role is above it, so
an admin decides what reviewers may. Admins count for any group. Nobody,
admins included, decides a request they are party to (four-eyes): whoever
asked for it, started the run it belongs to, or wrote the pipeline version
that produced the candidate.
"""

from dataclasses import dataclass

from pipelines_app.permissions import Role, role_of

from .deployments import Environment

ROLE_GROUPS = {role.group: role for role in Role}


def counts_in_group(user, group, user_groups=None):
    """Whether ``user`` decides as a member of ``group`` (membership, a role at or above it, or admin)."""
    role = role_of(user)
    if role is None:
        return False
    if role == Role.ADMIN:
        return True
    if group in ROLE_GROUPS and role >= ROLE_GROUPS[group]:
        return True
    if user_groups is None:
        user_groups = set(user.groups.values_list("name", flat=True))
    return group in user_groups


def groups_counting(user):
    """Every group name ``user`` decides as a member of, for queries; None means any group (admins)."""
    role = role_of(user)
    if role is None:
        return set()
    if role == Role.ADMIN:
        return None
    below = {name for name, group_role in ROLE_GROUPS.items() if role >= group_role}
    return below | set(user.groups.values_list("name", flat=True))


@dataclass(frozen=True)
class Rules:
    """Who may decide and how many must agree, for one environment (or for a request that guards none)."""

    environment: str
    groups: tuple[str, ...]
    min_approvals: int
    protected: bool

    @classmethod
    def of(cls, environment):
        """The floor an environment sets; an open one (or none) sets nothing."""
        if environment is None or not environment.protected:
            name = environment.name if environment is not None else ""
            return cls(name, (), 0, False)
        return cls(environment.name, tuple(environment.approver_groups), environment.min_approvals, True)

    @classmethod
    def for_name(cls, name):
        """The floor of the environment called ``name`` now ("" or unknown: none)."""
        return cls.of(Environment.objects.filter(name=name).first() if name else None)

    def narrowed(self, groups, min_approvals):
        """The rules a file or request asks for, held to this floor: its groups only where this environment
        trusts them (all of this environment's when none of them is trusted), and at least this many approvals."""
        groups = tuple(groups or ())
        if self.protected:
            allowed = tuple(group for group in groups if group in self.allowed_approver_groups())
            groups = allowed or self.groups
        return Rules(self.environment, groups, max(int(min_approvals or 0), self.min_approvals), self.protected)

    def allowed_approver_groups(self):
        """The groups a file may name for this environment: its own, and role groups above one of its own
        (their members count in it anyway). None when the environment is open: any group."""
        if not self.protected:
            return None
        ranks = [ROLE_GROUPS[group] for group in self.groups if group in ROLE_GROUPS]
        above = {name for name, role in ROLE_GROUPS.items() if ranks and role >= min(ranks)}
        return set(self.groups) | above

    def on_timeout(self, asked):
        """What a timeout may do: never approve into a protected environment."""
        return "reject" if self.protected else (asked if asked in ("approve", "reject") else "reject")

    def describe_timeout(self, asked):
        """What a timeout does to a request that asked for ``asked``, as ``expire_due`` will apply it."""
        applied = self.on_timeout(asked)
        if applied == "approve":
            return "it is approved"
        if asked == "approve" and self.protected:
            return (
                f"it is rejected (timed out): the request asked to approve, but {self.environment} is protected "
                "and never approves on timeout"
            )
        return "it is rejected (timed out)"

    def describe(self):
        if not self.groups:
            return "open: no approval needed"
        count = f"{self.min_approvals} approval{'s' if self.min_approvals != 1 else ''}"
        return f"{count} from {', '.join(self.groups)}; nobody who asked, started the run or wrote the pipeline"


def environment_timeout(environment):
    """The environments page's timeout, as requests will apply it: promotions and deploy steps' requests wait the
    environment's hours; an approval step's request waits the step's own ``timeout`` (engine.deployments,
    steps.approval); either then takes what ``Rules.on_timeout`` allows."""
    applied = Rules.of(environment).on_timeout(environment.on_timeout)
    waits = (
        f"{environment.approval_timeout_hours} h for promotions and deploy steps; "
        "an approval step's own timeout otherwise"
    )
    if environment.protected:
        return f"{waits}; then reject (a protected environment never approves on timeout)"
    return f"{waits}; then {applied}"


def request_rules(request):
    """The rules a request is held to now: its own, narrowed by its environment's current floor."""
    return Rules.for_name(request.environment).narrowed(request.approver_groups, request.min_approvals)


def parties(request):
    """The people who may not decide ``request`` (four-eyes), each with the reason as the page shows it."""
    found = {}

    def add(user_id, reason):
        if user_id is not None and user_id not in found:
            found[user_id] = reason

    for run in (request.run, request.model_version.run if request.model_version_id else None):
        if run is None:
            continue
        add(run.triggered_by_id, f"You started run #{run.pk}, which produced this candidate (four-eyes rule).")
        version = run.pipeline_version
        add(
            version.author_id,
            f"You wrote version {version.number} of pipeline '{version.pipeline.name}', which produced this "
            "candidate (four-eyes rule).",
        )
    if request.model_version_id and request.model_version.pipeline_version_id:
        version = request.model_version.pipeline_version
        add(
            version.author_id,
            f"You wrote version {version.number} of pipeline '{version.pipeline.name}', which produced this "
            "candidate (four-eyes rule).",
        )
    # Last, so that for a run started by schedule, webhook or drift (its author is the requester) the page says why.
    add(request.requested_by_id, "You asked for this (four-eyes rule): someone else must decide.")
    return found


def refusal(request, user, rules=None):
    """Why ``user`` may not decide ``request`` under its rules, or "" when they may (status aside)."""
    rules = rules or request_rules(request)
    conflict = parties(request).get(user.pk)
    if conflict:
        return conflict
    user_groups = set(user.groups.values_list("name", flat=True))
    if not any(counts_in_group(user, group, user_groups) for group in rules.groups):
        where = f"{rules.environment} accepts" if rules.environment else "This request accepts"
        return f"{where} decisions only from {', '.join(rules.groups) or 'nobody'}; you are not in one of them."
    return ""


def approvals_that_count(request, rules):
    """The approvals ``request`` got from people ``rules`` trust who are not party to it."""
    excluded = parties(request)
    counted = []
    for decision in request.decisions.filter(approve=True).select_related("user").prefetch_related("user__groups"):
        user = decision.user
        if decision.user_id in excluded or not user.is_active:
            continue
        # The prefetched groups, read once per decision rather than once per approver group.
        user_groups = {group.name for group in user.groups.all()}
        if any(counts_in_group(user, group, user_groups) for group in rules.groups):
            counted.append(decision)
    return counted


def approval_meets(request, environment):
    """Whether an approved request lets a model into ``environment``: every rule of the environment holds for
    the decisions it actually got (a timeout or decisions by people the environment does not trust count
    for nothing)."""
    approved = request.status == "approved"  # ApprovalStatus.APPROVED; approvals.py builds on this module
    floor = Rules.of(environment)
    if not floor.protected or not approved:
        return approved
    return len(approvals_that_count(request, floor)) >= floor.min_approvals
