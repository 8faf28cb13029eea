"""Names the database knows (SpecContext): environments, approver groups, datasets."""

from pipelines_app.spec import SpecContext, validate_pipeline

from .files import DEMO_CONTEXT, at, column_of, one_problem, steps_file


def test_an_unknown_environment_suggests_and_lists_the_known_ones():
    step = "{name: d, type: deploy, environment: prod}"

    error = one_problem(steps_file(step), DEMO_CONTEXT)

    assert at(error) == (7, column_of(step, "prod"))
    assert error.message == "environment 'prod' does not exist; did you mean 'production'? Known: production, staging"
    assert error.path == "stages[0].steps[0].environment"


def test_rollback_environments_are_checked_too():
    step = "{name: back, type: rollback, environment: qa}"

    error = one_problem(steps_file(step), DEMO_CONTEXT)

    assert at(error) == (7, column_of(step, "qa"))
    assert error.message == "environment 'qa' does not exist; known: production, staging"


def test_an_unknown_approver_group_is_reported():
    step = "{name: ok, type: approval, approvers: [admins, reviewer]}"

    error = one_problem(steps_file(step), DEMO_CONTEXT)

    assert at(error) == (7, column_of(step, "reviewer"))
    assert error.message.startswith("approver group 'reviewer' does not exist; did you mean 'reviewers'?")


def test_an_unknown_dataset_is_reported_without_its_version():
    step = "{name: load, type: ingest, dataset: credit-card-aplications@2}"

    error = one_problem(steps_file(step), DEMO_CONTEXT)

    assert at(error) == (7, column_of(step, "credit-card-aplications@2"))
    assert error.message.startswith(
        "dataset 'credit-card-aplications' does not exist; did you mean 'credit-card-applications'?"
    )


def test_unknown_groups_in_recipients_are_reported():
    step = "{name: n, type: notify, to: ['group:ops']}"

    error = one_problem(steps_file(step), DEMO_CONTEXT)

    assert at(error) == (7, column_of(step, "'group:ops'"))
    assert error.message.startswith("group 'ops' does not exist; known: admins, editors")


def test_without_context_names_are_not_checked():
    text = steps_file("{name: load, type: ingest, dataset: anything}", "{name: d, type: deploy, environment: mars}")

    assert validate_pipeline(text) == []
    assert validate_pipeline(text, SpecContext()) == []
    assert validate_pipeline(text, SpecContext(environments=set(), datasets=set())) == []
