"""The pipeline files everyone relies on: the DESIGN.md §6 example and the contract journey pipeline."""

from pipelines_app.spec import (
    ApprovalStep,
    DeployStep,
    PipelineSpec,
    TrainStep,
    parse_pipeline,
    validate_pipeline,
)

from .files import CONTRACT_PIPELINE, DEMO_CONTEXT, at, one_problem

# Verbatim from DESIGN.md §6.
DESIGN_EXAMPLE = """\
version: 1
name: credit-card-approval
description: Train, gate, approve and deploy the credit card approval model
model: credit-card-approval        # registered model this pipeline produces
inputs:                            # runtime inputs, asked for when run by hand
  n_estimators: {type: integer, default: 200, min: 10, max: 2000}
triggers:
  - {type: schedule, cron: "0 3 * * 1"}
  - {type: webhook}
  - {type: drift}                  # run when a drift alert fires on this model
failure_strategy: {retries: 2, retry_backoff_s: 10, on_failure: abort}   # abort | continue
notifications:
  - {on: [failed, waiting_for_approval, succeeded], to: ["group:editors", "ml-team@example.com"]}
  - {on: [failed], to: ["webhook:https://hooks.example.com/ml"]}
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}     # latest, or name@3
      - name: validate
        type: validate_data
        checks:
          - {row_count_min: 500}
          - {column: income, min: 0}
          - {column: age, min: 18, max: 100}
          - {missing_fraction_max: 0.05}
  - name: train
    steps:
      - name: fit
        type: train
        target: card
        positive_label: "yes"
        estimator: sklearn.ensemble.HistGradientBoostingClassifier   # only sklearn estimator classes
        params: {max_iter: "${inputs.n_estimators}", learning_rate: 0.1}
        test_size: 0.25
        random_state: 42
      - {name: evaluate, type: evaluate, sensitive_features: [owner, selfemp]}
  - name: gate
    steps:
      - name: quality-gate
        type: policy_gate
        rules:
          - roc_auc >= 0.85
          - demographic_parity_difference <= 0.1
          - roc_auc >= production.roc_auc - 0.01   # no regression against production
  - name: staging
    steps:
      - {name: deploy-staging, type: deploy, environment: staging}
  - name: review
    steps:
      - name: approve-production
        type: approval
        approvers: [reviewers]
        min_approvals: 1
        timeout: 24h
        on_timeout: reject
        message: "Promote ${model} v${run.model_version} to production?"
  - name: production
    parallel: false                # true runs the stage's steps at the same time
    steps:
      - {name: deploy-production, type: deploy, environment: production, strategy: canary, canary_percent: 10}
      - {name: notify, type: notify, channels: [email, webhook]}
"""


def test_design_example_has_no_errors():
    assert validate_pipeline(DESIGN_EXAMPLE) == []
    assert validate_pipeline(DESIGN_EXAMPLE, DEMO_CONTEXT) == []


def test_design_example_round_trips_through_json():
    spec = parse_pipeline(DESIGN_EXAMPLE)
    stored = spec.model_dump(mode="json")

    again = PipelineSpec.model_validate(stored)

    assert again == spec
    assert again.model_dump(mode="json") == stored
    assert isinstance(again.step("fit"), TrainStep)


def test_design_example_reads_as_written():
    spec = parse_pipeline(DESIGN_EXAMPLE)

    assert spec.slug == "credit-card-approval"
    assert spec.inputs["n_estimators"].default == 200
    assert [trigger.type for trigger in spec.triggers] == ["schedule", "webhook", "drift"]
    assert spec.triggers[0].schedule().days_of_week == {1}
    assert spec.notifications[0].on == ["failed", "waiting_for_approval", "succeeded"]
    assert [step.name for _, step in spec.steps()][:3] == ["load", "validate", "fit"]
    assert [step.name for step in spec.train_steps()] == ["fit"]
    fit = spec.step("fit")
    assert fit.params == {"max_iter": "${inputs.n_estimators}", "learning_rate": 0.1}
    assert fit.estimator_class().__name__ == "HistGradientBoostingClassifier"
    rule = spec.step("quality-gate").rules[2]
    assert (rule.metric, rule.op, rule.rhs_number) == ("roc_auc", ">=", None)
    baseline = {"baseline": "production", "metric": "roc_auc", "factor": 1.0, "offset": -0.01}
    assert rule.rhs_baseline.model_dump() == baseline
    approval = spec.step("approve-production")
    assert isinstance(approval, ApprovalStep) and approval.timeout_seconds == 24 * 3600
    canary = spec.step("deploy-production")
    assert isinstance(canary, DeployStep) and (canary.strategy, canary.canary_percent) == ("canary", 10)
    assert spec.failure_strategy_for(canary).retries == 2


def test_graph_of_design_example_shows_stages_markers_and_parallel_flags():
    graph = parse_pipeline(DESIGN_EXAMPLE).graph()

    # DESIGN.md's example has six stages: data, train, gate, staging, review, production.
    assert [stage["name"] for stage in graph["stages"]] == ["data", "train", "gate", "staging", "review", "production"]
    assert all(stage["parallel"] is False for stage in graph["stages"])
    steps = {step["name"]: step for stage in graph["stages"] for step in stage["steps"]}
    assert steps["approve-production"]["marker"] == "approval"
    assert steps["deploy-staging"] == {
        "name": "deploy-staging",
        "type": "deploy",
        "marker": "deploy",
        "environment": "staging",
    }
    assert steps["deploy-production"]["environment"] == "production"
    assert steps["fit"]["marker"] is None and steps["fit"]["environment"] is None


def test_graph_marks_a_parallel_stage():
    text = DESIGN_EXAMPLE.replace("parallel: false ", "parallel: true  ")

    graph = parse_pipeline(text).graph()

    assert [stage["parallel"] for stage in graph["stages"]] == [False] * 5 + [True]


def test_contract_pipeline_is_valid():
    spec = parse_pipeline(CONTRACT_PIPELINE, DEMO_CONTEXT)

    assert spec.model == "contract-credit-card"
    assert spec.step("approve").timeout_seconds == 3600
    assert spec.step("fit").random_state == 7
    assert PipelineSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_unknown_step_type_is_reported_on_its_own_line_only():
    error = one_problem("""\
        version: 1
        name: m-typo
        description: contract journey pipeline
        model: m
        stages:
          - name: data
            steps:
              - {name: load, type: ingst, dataset: ds}
        """)

    assert at(error) == (8, 28)
    assert error.message == "unknown step type 'ingst'; did you mean 'ingest'?"
    assert error.path == "stages[0].steps[0].type"


def test_the_second_round_keys_read_as_written():
    """DESIGN §6's second-round keys (search on train, costs on evaluate, analysis on a canary deploy), together."""
    text = (
        DESIGN_EXAMPLE.replace(
            '        params: {max_iter: "${inputs.n_estimators}", learning_rate: 0.1}\n',
            '        params: {max_iter: "${inputs.n_estimators}", learning_rate: 0.1}\n'
            "        search:\n"
            "          method: random\n"
            "          trials: 16\n"
            "          cv: 5\n"
            "          metric: roc_auc\n"
            "          space:\n"
            "            learning_rate: {log_uniform: [0.01, 0.3]}\n"
            "            max_depth: [3, 5, 8, null]\n",
        )
        .replace(
            "{name: evaluate, type: evaluate, sensitive_features: [owner, selfemp]}",
            "{name: evaluate, type: evaluate, sensitive_features: [owner, selfemp], "
            "costs: {false_positive: 5.0, false_negative: 1.0}}",
        )
        .replace(
            "strategy: canary, canary_percent: 10}",
            "strategy: canary, canary_percent: 20, analysis: {min_requests: 200, max_duration: 30m, checks: ["
            '"error_rate <= primary.error_rate + 0.01", "latency_p95_ms <= primary.latency_p95_ms * 1.5", '
            '"score_psi <= 0.2", "positive_rate >= primary.positive_rate - 0.1", '
            '"positive_rate <= primary.positive_rate + 0.1"], on_pass: promote, on_fail: rollback}}',
        )
    )
    spec = parse_pipeline(text)
    assert spec.step("fit").search.trials == 16 and spec.step("fit").search.space["max_depth"] == [3, 5, 8, None]
    assert spec.step("evaluate").costs.false_positive == 5.0
    assert spec.step("deploy-production").analysis.checks[1].threshold({"latency_p95_ms": 4}) == 6
