"""A reviewer opens a declined application by its request id and reads its reasons, in Chromium."""

import orjson
import pytest

from pipelines_app.management.commands.seed_demo import DEMO_COLUMN_MEANINGS
from pipelines_app.models import ApiToken
from pipelines_app.serving.prediction_log import drain
from tests.conftest import deploy_demo_model
from tests.e2e.helpers import log_in, screenshot
from tests.serving.conftest import RECORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DECLINED = {**RECORD, "reports": 9, "income": 1.1, "majorcards": 0, "active": 0}


def test_a_reviewer_reads_why_an_application_was_declined(
    demo_dataset, environments, live_server, browser, reviewer, editor, client, redis_url
):
    import redis

    from pipelines_app.serving.prediction_log import BUFFER_KEY

    redis.Redis.from_url(redis_url).delete(BUFFER_KEY)
    demo_dataset.dataset.describe_columns(DEMO_COLUMN_MEANINGS, editor)
    deploy_demo_model(demo_dataset, "credit-card-approval", "staging")
    token = ApiToken.objects.issue(editor)[1]
    answer = client.post(
        "/serve/credit-card-approval/staging/invocations?explain=3",
        orjson.dumps({"dataframe_records": [DECLINED]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    ).json()
    assert answer["predictions"] == ["no"]
    assert drain() == 1
    row_id = answer["request_ids"][0]

    page = log_in(browser, live_server.url, reviewer)
    page.goto(live_server.url + "/monitoring/")
    page.get_by_role("link", name="Look up a decision").click()
    page.get_by_label("Request id").fill(row_id)
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(f"**/decisions/?id={row_id}")
    reasons = page.locator("ol.reasons li").all_inner_texts()
    # What the caller was told, as logged with the prediction, in the columns' own words where they have some.
    given = answer["explanations"][0]
    assert [r.split(" (")[0] for r in reasons] == given["reason_texts"]
    assert "Major derogatory reports (reports)" in reasons
    assert page.get_by_text("as logged").is_visible()
    assert page.get_by_text("no label has come back yet").is_visible()
    screenshot(page, "decision-lookup")
    page.context.close()
