import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.urls import NoReverseMatch
from django.utils import timezone

GENESIS_HASH = "0" * 64
# Any constant will do: it names the one advisory lock that serialises appends.
_POSTGRES_CHAIN_LOCK = 0x4D4C4F5053


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):
    def record(self, actor, verb, obj=None, payload=None, *, object_type="", object_id="", object_repr=""):
        """Append one event to the chain. Every feature calls this, through ``audit.record``."""
        if obj is not None:
            object_type = object_type or obj._meta.model_name
            object_id = object_id or str(obj.pk)
            object_repr = object_repr or str(obj)[:200]
        # Store exactly what will be hashed: a JSON round trip turns tuples,
        # dates and decimals into what the JSON column will give back.
        payload = json.loads(json.dumps(payload or {}, default=str, sort_keys=True))
        user = actor if getattr(actor, "is_authenticated", False) else None
        actor_name = user.get_username() if user else (actor if isinstance(actor, str) else "system")
        with transaction.atomic():
            _lock_chain()
            prev = self.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
            event = self.model(
                actor=user,
                actor_name=actor_name,
                verb=verb,
                object_type=object_type,
                object_id=str(object_id),
                object_repr=object_repr[:200],
                payload=payload,
                created_at=timezone.now(),
                prev_hash=prev,
            )
            event.hash = event.compute_hash()
            event.save(force_insert=True)
        return event

    def verify(self, positions=()):
        """Walk the whole chain from genesis (see verify_chain); ``positions`` are counts to report hashes at."""
        return verify_chain(self.order_by("id").iterator(chunk_size=2000), positions)


def _lock_chain():
    """Serialise appends so that two writers never chain onto the same hash.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: transactions
    already begin IMMEDIATE (settings), which takes the write lock up front.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_POSTGRES_CHAIN_LOCK])


class AuditEvent(models.Model):
    """One thing somebody (or the system) did. Append-only and hash-chained:
    each row's hash covers its content and the previous row's hash, so an
    altered or removed row breaks the chain (``manage.py verify_audit``)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventManager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The audit page's filters: by actor, by verb, by object.
            models.Index(fields=["actor_name", "-id"], name="audit_actor_idx"),
            models.Index(fields=["verb", "-id"], name="audit_verb_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.verb} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def canonical(self):
        return json.dumps(
            {
                "prev": self.prev_hash,
                "at": self.created_at.isoformat(),
                "actor": self.actor_name,
                "verb": self.verb,
                "type": self.object_type,
                "id": self.object_id,
                "repr": self.object_repr,
                "payload": self.payload,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )

    def compute_hash(self):
        return hashlib.sha256(self.canonical().encode()).hexdigest()


class CurrentObject(NamedTuple):
    """What an audit event's object is now: its name, its status (value and label, "" when it has none), the
    badge kind ("approval" where "pending" means waiting for reviewers) and its page."""

    name: str
    status: str
    status_label: str
    kind: str
    url: str


def _audited_models():
    """object_type (a model name, as ``record`` stores it) -> model: this app's models, and users."""
    models_by_name = {model._meta.model_name: model for model in apps.get_app_config("pipelines_app").get_models()}
    models_by_name.setdefault("user", get_user_model())
    return models_by_name


def _describe(obj):
    status = next((name for name in ("status", "state") if hasattr(obj, f"get_{name}_display")), None)
    try:
        url = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    except NoReverseMatch:
        url = ""
    return CurrentObject(
        name=str(obj),
        status=getattr(obj, status) if status else "",
        status_label=getattr(obj, f"get_{status}_display")() if status else "",
        kind="approval" if obj._meta.model_name == "approvalrequest" else "",
        url=url,
    )


def with_current_objects(events):
    """The events, as a list, each with ``current``: the object it names as it is now (a ``CurrentObject``), or
    None (``object_gone`` says whether it was deleted). The stored ``object_repr`` is what the object was called
    when the event was written (hashed, so never updated): "approval 1 (pending)" stays so after the approval.
    One query per object type among the events, whatever their number."""
    events = list(events)
    wanted = defaultdict(set)
    for event in events:
        if event.object_type and event.object_id:
            wanted[event.object_type].add(event.object_id)
    models_by_name = _audited_models() if wanted else {}
    found = {}
    for object_type, ids in wanted.items():
        model = models_by_name.get(object_type)
        if model is None:
            continue
        pks = []
        for raw in ids:
            try:
                pks.append(model._meta.pk.to_python(raw))
            except ValidationError:
                continue
        # select_related() follows the non-null foreign keys that names like "churn in production" read.
        for obj in model._default_manager.select_related().filter(pk__in=pks):
            found[(object_type, str(obj.pk))] = _describe(obj)
    for event in events:
        event.current = found.get((event.object_type, event.object_id))
        event.object_gone = event.current is None and event.object_type in models_by_name
    return events


@dataclass
class ChainReport:
    """What one walk of the chain found: how many events link up from genesis, the hash they end on, the first
    event that does not link (with why), and the hash after each position asked for (to compare anchors with)."""

    checked: int = 0
    head: str = GENESIS_HASH
    broken: "AuditEvent | None" = None
    reason: str = ""
    hashes: dict = field(default_factory=dict)


def verify_chain(events, positions=()):
    """Walk events in id order and report (see ChainReport); stops at the first event that does not link."""
    wanted = set(positions)
    report = ChainReport(hashes={0: GENESIS_HASH} if 0 in wanted else {})
    for event in events:
        if event.prev_hash != report.head:
            report.broken = event
            report.reason = "its link to the previous event does not match (a row before it was removed or changed)"
            return report
        if event.compute_hash() != event.hash:
            report.broken = event
            report.reason = "its content does not match its hash (the row was altered)"
            return report
        report.head = event.hash
        report.checked += 1
        if report.checked in wanted:
            report.hashes[report.checked] = event.hash
    return report


class AuditAnchor(NamedTuple):
    """The chain's length and head hash at a moment, kept outside the database.

    Removing the newest events leaves a shorter chain that still links up; only a record of how long it was, and
    what it ended on, shows the loss. One line of an anchor file: ``<ISO time> <count> <head hash>``.
    """

    at: str
    count: int
    head: str

    def line(self):
        return f"{self.at} {self.count} {self.head}"

    @classmethod
    def parse(cls, line):
        """The anchor on ``line``; ValueError when it is not one."""
        at, count, head = line.split()
        if not count.isdigit() or len(head) != 64 or any(c not in "0123456789abcdef" for c in head):
            raise ValueError(line)
        return cls(at, int(count), head)

    def contradiction(self, report):
        """Why ``report`` (a chain walked with this anchor's count among its positions) cannot have grown from
        the chain this anchor saw; empty when it can."""
        if report.checked < self.count:
            return (
                f"the chain has {report.checked} events, fewer than the {self.count} anchored at {self.at}: "
                f"events were removed from its end"
            )
        if report.hashes.get(self.count) != self.head:
            return (
                f"the chain diverges from the anchor taken at {self.at}: after {self.count} events its hash is "
                f"{report.hashes.get(self.count)}, the anchor says {self.head} (events were removed or replaced)"
            )
        return ""


def read_anchors(path):
    """The anchors in the file at ``path`` (blank lines and lines starting with # are skipped)."""
    anchors = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                anchors.append(AuditAnchor.parse(line))
            except ValueError:
                raise ValueError(f"line {number} of {path} is not an anchor (<time> <count> <head hash>)") from None
    return anchors


def append_anchor(path, report):
    """Append the walked chain's count and head to the file at ``path`` (created 0600); return the anchor."""
    anchor = AuditAnchor(timezone.now().isoformat(timespec="seconds"), report.checked, report.head)
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as file:
        file.write(anchor.line() + "\n")
    return anchor


def retry_on_deadlock(func, attempts=4):
    """Run ``func`` again when PostgreSQL picked its transaction as a deadlock victim.

    Appends to the audit chain are serialised by one lock; a transaction that holds row locks and then appends
    can deadlock with one that appended and then locks rows. PostgreSQL aborts one of them; re-running the whole
    transaction is the standard answer. Only done at the outermost level: inside someone else's transaction the
    error goes up to whoever owns it.
    """
    import functools
    import time

    from django.db import OperationalError

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(attempts):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
                if code not in ("40P01", "40001") or connection.in_atomic_block or attempt == attempts - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        return None

    return wrapper
