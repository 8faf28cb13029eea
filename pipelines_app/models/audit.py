import hashlib
import json

from django.conf import settings
from django.db import connection, models, transaction
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


def verify_chain(events):
    """Walk events in id order; return (checked, first broken event or None, reason)."""
    prev = GENESIS_HASH
    checked = 0
    for event in events:
        if event.prev_hash != prev:
            return (
                checked,
                event,
                ("its link to the previous event does not match (a row before it was removed or changed)"),
            )
        if event.compute_hash() != event.hash:
            return checked, event, "its content does not match its hash (the row was altered)"
        prev = event.hash
        checked += 1
    return checked, None, ""


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
