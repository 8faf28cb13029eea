"""Models, one module per aggregate (DESIGN.md §4)."""

from .accounts import ApiToken
from .audit import AuditEvent
from .system import WorkerHeartbeat

__all__ = ["ApiToken", "AuditEvent", "WorkerHeartbeat"]
