"""The step registry: step type name → class with ``run(ctx) -> outputs``.

Built-in types are listed here; settings.PIPELINE_STEP_TYPES adds more
(name → dotted path). Nothing in a pipeline file can name code directly.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .approval import ApprovalStep
from .data import IngestStep, ValidateDataStep
from .deploy import DeployStep, RollbackStep
from .gates import PolicyGateStep
from .notify import NotifyStep
from .training import EvaluateStep, TrainStep

BUILT_IN = {
    "ingest": IngestStep,
    "validate_data": ValidateDataStep,
    "train": TrainStep,
    "evaluate": EvaluateStep,
    "policy_gate": PolicyGateStep,
    "approval": ApprovalStep,
    "deploy": DeployStep,
    "rollback": RollbackStep,
    "notify": NotifyStep,
}


def step_class(name):
    if name in BUILT_IN:
        return BUILT_IN[name]
    extra = getattr(settings, "PIPELINE_STEP_TYPES", {})
    if name in extra:
        return import_string(extra[name])
    raise KeyError(f"no step type '{name}' is registered")
