"""The deployment page: state, live rates, history timeline, and the rollback / canary buttons for editors."""

import pytest

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import AuditEvent, Deployment, Environment, PredictionLog

URL = "/deployments/production/credit-card-approval/"


@pytest.fixture
def deployed_twice(credit_pipeline, run_inline, editor):
    first = run_inline(start_run(credit_pipeline, editor)).model_version
    second = run_inline(start_run(credit_pipeline, editor, {"max_iter": 200})).model_version
    production = Environment.objects.get(name="production")
    deploy_version(production, first, "system")
    deploy_version(production, second, editor)
    return first, second


def test_the_page_shows_what_serves_and_the_history(client_for, viewer, deployed_twice):
    first, second = deployed_twice
    deployment = Deployment.objects.get(environment__name="production")
    PredictionLog.objects.create(deployment=deployment, request_id="a", model_version=second)
    PredictionLog.objects.create(deployment=deployment, request_id="b", model_version=second, status_code=400)
    text = client_for(viewer).get(URL).content.decode()
    assert f'id="primary-version">v{second.version}<' in text
    assert 'id="deployment-timeline"' in text and "timeline-data" in text
    assert "50%" in text  # one of the two requests in the last five minutes was refused
    assert "Roll back" not in text  # viewers read, editors act


def test_an_editor_rolls_back_with_one_click(client_for, editor, deployed_twice):
    first, second = deployed_twice
    page = client_for(editor).get(URL).content.decode()
    assert f"Roll back to v{first.version}" in page
    response = client_for(editor).post(URL + "rollback/", follow=True)
    assert response.status_code == 200
    assert f"v{first.version} serves again" in response.content.decode()
    assert Deployment.objects.get(environment__name="production").primary_version == first
    assert AuditEvent.objects.filter(verb="deployment.rolled_back", actor_name=editor.username).exists()


def test_viewers_cannot_change_deployments(client_for, viewer, deployed_twice):
    assert client_for(viewer).post(URL + "rollback/").status_code == 403
    assert Deployment.objects.get(environment__name="production").primary_version == deployed_twice[1]


def test_actions_need_post_and_a_known_name(client_for, editor, deployed_twice):
    assert client_for(editor).get(URL + "rollback/").status_code == 405
    assert client_for(editor).post(URL + "explode/").status_code == 404


def test_nothing_to_abort_is_409_with_the_reason(client_for, editor, deployed_twice):
    response = client_for(editor).post(URL + "abort-canary/")
    assert response.status_code == 409


def test_an_unknown_deployment_is_404(client_for, viewer, environments):
    assert client_for(viewer).get("/deployments/production/nope/").status_code == 404


def test_the_list_links_each_deployment_with_its_rates(
    client_for, viewer, deployed_twice, django_assert_max_num_queries
):
    client = client_for(viewer)
    with django_assert_max_num_queries(15):
        text = client.get("/deployments/").content.decode()
    assert URL in text and "Requests/min" in text


def test_environments_cannot_take_the_names_of_pages(client_for, admin_user, environments):
    response = client_for(admin_user).post(
        "/deployments/environments/new/",
        {"name": "environments", "approval_timeout_hours": "1", "on_timeout": "reject", "min_approvals": "0"},
    )
    assert response.status_code == 400 and "is a page of this site" in response.content.decode()
