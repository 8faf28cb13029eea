"""Pipeline files the spec tests share, and small helpers to read the problems found in one."""

from textwrap import dedent

from pipelines_app.spec import SpecContext, SpecError, validate_pipeline

CONTRACT_PIPELINE = """\
version: 1
name: contract-credit-card-journey
description: contract journey pipeline
model: contract-credit-card
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: contract-credit-card}
      - name: validate
        type: validate_data
        checks:
          - {row_count_min: 500}
  - name: train
    steps:
      - name: fit
        type: train
        target: card
        positive_label: "yes"
        estimator: sklearn.linear_model.LogisticRegression
        params: {max_iter: 1000}
        test_size: 0.25
        random_state: 7
      - {name: evaluate, type: evaluate, sensitive_features: [owner]}
  - name: gate
    steps:
      - name: quality
        type: policy_gate
        rules:
          - roc_auc >= 0.7
  - name: review
    steps:
      - {name: approve, type: approval, approvers: [reviewers], min_approvals: 1, timeout: 1h}
  - name: production
    steps:
      - {name: deploy, type: deploy, environment: production}
"""

DEMO_CONTEXT = SpecContext(
    environments={"staging", "production"},
    groups={"viewers", "editors", "reviewers", "admins"},
    datasets={"credit-card-applications", "contract-credit-card"},
)

HEADER = "version: 1\nname: p\nmodel: m\n"


def steps_file(*steps: str, header: str = HEADER) -> str:
    """A pipeline whose one stage holds `steps`, each a flow mapping on its own line: the first is on line 7,
    and its text starts at column 9 (so a token at index i of a step is at column 9 + i)."""
    lines = [header.rstrip("\n"), "stages:", "  - name: s", "    steps:"]
    lines += [f"      - {step}" for step in steps]
    return "\n".join(lines) + "\n"


def problems(text: str, context: SpecContext | None = None) -> list[SpecError]:
    return validate_pipeline(dedent(text), context)


def one_problem(text: str, context: SpecContext | None = None) -> SpecError:
    """The only problem in `text`; fails listing them all when there is not exactly one."""
    found = problems(text, context)
    assert len(found) == 1, "\n".join(str(error) for error in found) or "no problems found"
    return found[0]


def at(error: SpecError) -> tuple[int, int]:
    return error.line, error.column


def column_of(step: str, token: str) -> int:
    """Column of `token` in a step written by steps_file (the step's text starts at column 9)."""
    return 9 + step.index(token)
