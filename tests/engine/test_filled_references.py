"""`${...}` references are filled in by the steps that read text from the file: a train step's params and data
settings, an evaluate step's sensitive features, an approval's message, a notify step's message and recipients.
Each test runs a small pipeline through the real steps, in this process."""

import pytest
from django.core import mail

from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApprovalRequest, ModelVersion, Pipeline, StepRun

pytestmark = pytest.mark.usefixtures("demo_dataset", "environments")

LOAD_STAGE = """  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
"""


def pipeline(editor, stages, inputs="", name="filled"):
    text = f"version: 1\nname: {name}\nmodel: {name}-model\n{inputs}stages:\n{LOAD_STAGE}{stages}"
    return Pipeline.objects.create_from_yaml(text, editor)


def emails():
    """(recipients, text) of the e-mails sent."""
    return [(message.to, message.body) for message in mail.outbox]


def test_a_notify_message_and_recipient_are_filled_from_the_run_its_inputs_and_earlier_steps(editor, run_inline):
    tell = pipeline(
        editor,
        """  - name: tell
    steps:
      - name: tell
        type: notify
        to: ["${inputs.who}@example.com"]
        message: "run ${run.id} (${run.trigger}) of ${pipeline} for ${model}: ${steps.load.rows} rows, ${inputs.why}"
""",
        inputs="inputs:\n  who: {type: string}\n  why: {type: string, default: nightly}\n",
    )

    run = run_inline(start_run(tell, editor, {"who": "ana"}))

    assert run.status == "succeeded", run.error
    assert emails() == [
        (["ana@example.com"], f"run {run.pk} (manual) of filled for filled-model: 1319 rows, nightly"),
    ]


def test_a_reference_the_run_has_no_value_for_fails_the_step_with_a_plain_sentence(editor, run_inline):
    # Validation cannot know that no train step runs before: the run finds out, and says so.
    tell = pipeline(
        editor,
        """  - name: tell
    steps:
      - {name: tell, type: notify, to: [ana@example.com], message: "model v${run.model_version}"}
""",
    )

    run = run_inline(start_run(tell, editor))

    assert run.status == "failed"
    step = StepRun.objects.get(run=run, name="tell")
    assert step.error == (
        "'${run.model_version}' has no value in this run: no model version has been registered before this step"
    )
    assert step.traceback == ""  # a mistake in the file, not in the code
    assert emails() == []


def test_an_approval_message_is_filled_with_outputs_of_earlier_steps(editor, run_inline):
    review = pipeline(
        editor,
        """  - name: review
    steps:
      - name: approve
        type: approval
        approvers: [reviewers]
        message: "Ship ${model}? Trained on ${steps.load.rows} rows of v${steps.load.dataset_version}, ${inputs.why}"
""",
        inputs="inputs:\n  why: {type: string, default: monthly refresh}\n",
    )

    run = run_inline(start_run(review, editor, {"why": "drift on income"}))

    assert run.status == "waiting_approval", run.error
    request = ApprovalRequest.objects.get(run=run)
    assert request.message == "Ship filled-model? Trained on 1319 rows of v1, drift on income"


TRAIN_AND_EVALUATE = """  - name: train
    steps:
      - name: fit
        type: train
        target: "${inputs.target}"
        positive_label: "${inputs.positive}"
        drop: [share, expenditure]
        estimator: sklearn.linear_model.LogisticRegression
        params:
          max_iter: "${inputs.iterations}"
          class_weight: {"yes": "${inputs.weight}", "no": 1.0}
      - {name: evaluate, type: evaluate, sensitive_features: ["${inputs.group}"]}
"""
TRAIN_INPUTS = """inputs:
  target: {type: string, default: card}
  positive: {type: string, default: "yes"}
  iterations: {type: integer, default: 300}
  weight: {type: number, default: 2.0}
  group: {type: string, default: owner}
"""


def test_train_params_and_data_settings_are_filled_keeping_the_types_of_the_inputs(editor, run_inline):
    fit = pipeline(editor, TRAIN_AND_EVALUATE, inputs=TRAIN_INPUTS)

    run = run_inline(start_run(fit, editor, {"iterations": 400, "weight": 3.5}))

    assert run.status == "succeeded", run.error
    version = ModelVersion.objects.get(run=run)
    assert version.params["max_iter"] == 400
    assert version.params["class_weight"] == {"yes": 3.5, "no": 1.0}
    assert version.target == "card"
    assert version.target_info["positive_label"] == "yes"
    assert {report["feature"] for report in version.evaluation["fairness"]} == {"owner"}
