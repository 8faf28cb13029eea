"""Models, one module per aggregate (DESIGN.md §4)."""

from .accounts import ApiToken
from .approvals import ApprovalDecision, ApprovalRequest, ApprovalStatus
from .audit import AuditEvent
from .datasets import Dataset, DatasetVersion
from .deployments import CanaryAnalysis, Deployment, DeploymentEvent, Environment
from .events import Event
from .monitoring import Alert, AlertRule, DriftReport, Rollup, RollupCursor
from .notifications import Delivery, Notification
from .pipelines import Pipeline, PipelineVersion
from .registry import ModelVersion, RegisteredModel
from .runs import PipelineRun, RunStatus, SearchTrial, StepRun, StepStatus, Trigger
from .serving import Feedback, PredictionLog
from .system import WorkerHeartbeat

__all__ = [
    "Alert",
    "AlertRule",
    "ApiToken",
    "ApprovalDecision",
    "ApprovalRequest",
    "ApprovalStatus",
    "AuditEvent",
    "Dataset",
    "DatasetVersion",
    "Delivery",
    "CanaryAnalysis",
    "Deployment",
    "DeploymentEvent",
    "DriftReport",
    "Environment",
    "Event",
    "Feedback",
    "ModelVersion",
    "Notification",
    "Pipeline",
    "PipelineRun",
    "PipelineVersion",
    "PredictionLog",
    "RegisteredModel",
    "Rollup",
    "RollupCursor",
    "RunStatus",
    "SearchTrial",
    "StepRun",
    "StepStatus",
    "Trigger",
    "WorkerHeartbeat",
]
