"""Models, one module per aggregate (DESIGN.md §4)."""

from .accounts import ApiToken
from .audit import AuditEvent
from .datasets import Dataset, DatasetVersion
from .deployments import Environment
from .pipelines import Pipeline, PipelineVersion
from .system import WorkerHeartbeat

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Dataset",
    "DatasetVersion",
    "Environment",
    "Pipeline",
    "PipelineVersion",
    "WorkerHeartbeat",
]
