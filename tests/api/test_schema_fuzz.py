"""schemathesis against /api/schema/: every operation, bounded examples, as an admin with a token. No answer may
be a 5xx, carry a status code or content type the schema does not list, or break the schema it publishes."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from mlops_site.wsgi import application
from pipelines_app.models import ApiToken

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def admin_token(admin_user):
    return ApiToken.objects.issue(admin_user)[1]


@pytest.fixture(scope="module", autouse=True)
def _one_database_connection_for_every_call():
    """schemathesis calls the WSGI application, which closes the database connection after each request when
    CONN_MAX_AGE is 0 (the default): a new PostgreSQL connection for each of some 4,000 calls, a third of the
    module's time. Kept open here, as DB_CONN_MAX_AGE does in production; the answers do not depend on it."""
    from django.db import connection

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
        yield


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case, admin_token, redis_url):
    # Left out: whether a valid-looking body is accepted and an invalid one refused. A pipeline file can be
    # well-formed JSON and still not a pipeline (400 with its errors is right); a repeated ?page= is read once.
    case.call_and_validate(
        headers={"Authorization": f"Token {admin_token}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )


def test_api_errors_outside_any_view_are_json(client, viewer):
    from tests.conftest import api_client

    for path in ("/api/v1/runs/not-a-number/", "/api/v1/approvals/null,null/approve/", "/api/v1/nothing/"):
        response = api_client(viewer).get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json() == {"detail": "Not found."}
    page = client.get("/nothing-here/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
