"""Starting points for a pipeline file: the built-in templates and the wizard's generator.

Both produce YAML text that the user can then edit; neither saves anything.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent / "pipeline_templates"
# The slug of the pipeline seed_demo creates from the credit_card_approval template (the overview offers to run it).
DEMO_PIPELINE = "credit-card-approval"


@dataclass(frozen=True)
class PipelineTemplate:
    key: str
    title: str
    summary: str

    def text(self):
        return (TEMPLATE_DIR / f"{self.key}.yaml").read_text()


TEMPLATES = {
    t.key: t
    for t in [
        PipelineTemplate(
            "credit_card_approval",
            "Train → gate → approve → deploy",
            "The credit card approval model: validate the data, train, evaluate with fairness by "
            "group, gate on quality, deploy to staging, ask a reviewer, canary to production.",
        ),
        PipelineTemplate(
            "retrain_on_drift",
            "Retrain on drift",
            "Runs when a drift alert fires (and weekly): retrain on the latest data, refuse a "
            "regression against production, ask a reviewer, canary to production.",
        ),
    ]
}


@dataclass(frozen=True)
class EstimatorChoice:
    key: str
    label: str
    path: str
    task: str
    # The wizard's generic fields → this estimator's parameter names, with defaults.
    params: dict


ESTIMATORS = {
    e.key: e
    for e in [
        EstimatorChoice(
            "logistic_regression",
            "Logistic regression",
            "sklearn.linear_model.LogisticRegression",
            "classification",
            {"regularisation": ("C", 1.0), "iterations": ("max_iter", 1000)},
        ),
        EstimatorChoice(
            "random_forest",
            "Random forest",
            "sklearn.ensemble.RandomForestClassifier",
            "classification",
            {"iterations": ("n_estimators", 200), "max_depth": ("max_depth", None)},
        ),
        EstimatorChoice(
            "hist_gradient_boosting",
            "Histogram gradient boosting",
            "sklearn.ensemble.HistGradientBoostingClassifier",
            "classification",
            {
                "iterations": ("max_iter", 200),
                "learning_rate": ("learning_rate", 0.1),
                "max_depth": ("max_depth", None),
            },
        ),
        EstimatorChoice(
            "gradient_boosting",
            "Gradient boosting",
            "sklearn.ensemble.GradientBoostingClassifier",
            "classification",
            {
                "iterations": ("n_estimators", 100),
                "learning_rate": ("learning_rate", 0.1),
                "max_depth": ("max_depth", 3),
            },
        ),
        EstimatorChoice(
            "ridge", "Ridge regression", "sklearn.linear_model.Ridge", "regression", {"regularisation": ("alpha", 1.0)}
        ),
        EstimatorChoice(
            "random_forest_regressor",
            "Random forest (regression)",
            "sklearn.ensemble.RandomForestRegressor",
            "regression",
            {"iterations": ("n_estimators", 200), "max_depth": ("max_depth", None)},
        ),
        EstimatorChoice(
            "hist_gradient_boosting_regressor",
            "Histogram gradient boosting (regression)",
            "sklearn.ensemble.HistGradientBoostingRegressor",
            "regression",
            {"iterations": ("max_iter", 200), "learning_rate": ("learning_rate", 0.1)},
        ),
    ]
}


class FlowMap(dict):
    """A small mapping written on one line: {name: x, type: y}."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    FlowMap, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)
)
_Dumper.add_representer(
    list,
    lambda d, data: d.represent_sequence(
        "tag:yaml.org,2002:seq", data, flow_style=all(isinstance(x, str) and " " not in x for x in data)
    ),
)


def wizard_yaml(data):
    """The pipeline file for the wizard's cleaned data (see ``PipelineWizardForm``)."""
    estimator = ESTIMATORS[data["estimator"]]
    params = {}
    for field, (param, default) in estimator.params.items():
        value = data.get(field)
        params[param] = default if value in (None, "") else value
    params = {k: v for k, v in params.items() if v is not None}
    dataset = data["dataset"] + (f"@{data['dataset_version']}" if data.get("dataset_version") else "")

    train = {"name": "fit", "type": "train", "target": data["target"]}
    if estimator.task == "classification" and data.get("positive_label") not in (None, ""):
        train["positive_label"] = str(data["positive_label"])
    if data.get("drop"):
        train["drop"] = list(data["drop"])
    train.update(
        {
            "estimator": estimator.path,
            "params": FlowMap(params),
            "test_size": data.get("test_size") or 0.25,
            "random_state": 42,
        }
    )
    evaluate = {"name": "evaluate", "type": "evaluate"}
    if data.get("sensitive_features"):
        evaluate["sensitive_features"] = list(data["sensitive_features"])

    metric = "roc_auc" if estimator.task == "classification" else "r2"
    rules = []
    if data.get("min_metric") is not None:
        rules.append(f"{metric} >= {data['min_metric']}")
    if (
        estimator.task == "classification"
        and data.get("sensitive_features")
        and data.get("max_fairness_gap") is not None
    ):
        rules.append(f"demographic_parity_difference <= {data['max_fairness_gap']}")
    if data.get("no_regression"):
        rules.append(f"{metric} >= production.{metric} - {data.get('regression_tolerance') or 0}")

    stages = [
        {
            "name": "data",
            "steps": [
                FlowMap({"name": "load", "type": "ingest", "dataset": dataset}),
                {
                    "name": "validate",
                    "type": "validate_data",
                    "checks": [
                        FlowMap({"row_count_min": data.get("row_count_min") or 100}),
                        FlowMap({"missing_fraction_max": 0.2}),
                    ],
                },
            ],
        },
        {"name": "train", "steps": [train, FlowMap(evaluate)]},
    ]
    if rules:
        stages.append({"name": "gate", "steps": [{"name": "quality-gate", "type": "policy_gate", "rules": rules}]})
    if data.get("deploy_staging"):
        stages.append(
            {
                "name": "staging",
                "steps": [FlowMap({"name": "deploy-staging", "type": "deploy", "environment": "staging"})],
            }
        )
    if data.get("deploy_production"):
        stages.append(
            {
                "name": "review",
                "steps": [
                    {
                        "name": "approve-production",
                        "type": "approval",
                        "approvers": [data["approver_group"]],
                        "min_approvals": data.get("min_approvals") or 1,
                        "timeout": data.get("approval_timeout") or "24h",
                        "on_timeout": "reject",
                        "message": "Promote ${model} v${run.model_version} to production?",
                    }
                ],
            }
        )
        deploy = {
            "name": "deploy-production",
            "type": "deploy",
            "environment": "production",
            "strategy": data.get("strategy") or "replace",
        }
        if deploy["strategy"] == "canary":
            deploy["canary_percent"] = data.get("canary_percent") or 10
        stages.append({"name": "production", "steps": [FlowMap(deploy)]})

    triggers = []
    if data.get("schedule"):
        triggers.append(FlowMap({"type": "schedule", "cron": data["schedule"]}))
    if data.get("retrain_on_drift"):
        triggers.append(FlowMap({"type": "drift"}))
    document = {
        "version": 1,
        "name": data["name"],
        "description": data.get("description") or "",
        "model": data.get("model") or data["name"],
    }
    if triggers:
        document["triggers"] = triggers
    document["stages"] = stages
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=True)
