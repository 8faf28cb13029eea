"""The pipeline file format (version 1): parse, validate, and report every error with its line and column.

Pure Python (PyYAML, pydantic; scikit-learn only when an estimator is checked), no Django.
"""

from .context import SpecContext
from .cron import CronError, CronSchedule, parse_cron
from .data_checks import KNOWN_CHECKS, DataCheck
from .durations import DurationError, parse_duration
from .errors import MAX_ERRORS, SpecError, SpecInvalid
from .models import (
    EVENTS,
    FailureStrategy,
    InputsInvalid,
    InputSpec,
    Notification,
    PipelineSpec,
    Stage,
    Trigger,
    register_step_type,
    slugify,
    unregister_step_type,
)
from .parser import MAX_FILE_BYTES, parse_pipeline, validate_pipeline
from .rules import BaselineRef, PolicyRule, RuleError, RuleResult, parse_rule
from .steps import (
    STEP_TYPES,
    ApprovalStep,
    BaseStep,
    DeployStep,
    EvaluateStep,
    IngestStep,
    NotifyStep,
    PolicyGateStep,
    RollbackStep,
    TrainStep,
    ValidateDataStep,
)

__all__ = [
    "EVENTS",
    "KNOWN_CHECKS",
    "MAX_FILE_BYTES",
    "MAX_ERRORS",
    "STEP_TYPES",
    "ApprovalStep",
    "BaseStep",
    "BaselineRef",
    "CronError",
    "CronSchedule",
    "DataCheck",
    "DeployStep",
    "DurationError",
    "EvaluateStep",
    "FailureStrategy",
    "IngestStep",
    "InputSpec",
    "InputsInvalid",
    "Notification",
    "NotifyStep",
    "PipelineSpec",
    "PolicyGateStep",
    "PolicyRule",
    "RollbackStep",
    "RuleError",
    "RuleResult",
    "SpecContext",
    "SpecError",
    "SpecInvalid",
    "Stage",
    "TrainStep",
    "Trigger",
    "ValidateDataStep",
    "parse_cron",
    "parse_duration",
    "parse_pipeline",
    "parse_rule",
    "register_step_type",
    "slugify",
    "unregister_step_type",
    "validate_pipeline",
]
