"""Writing the outbox: a state change others react to is recorded as an ``Event`` in the same transaction, and
its id is queued for ``reactions.react`` once that transaction commits (``reactions.sweep`` finds any whose
message was lost)."""

from pipelines_app import dispatch
from pipelines_app.models import Event


def emit(kind, *, run=None, approval=None, alert=None, **payload):
    event = Event.objects.record(kind, run=run, approval=approval, alert=alert, **payload)
    dispatch.react(event.pk)
    return event
