import csv
import json
import random

import pytest

from pipelines_app.models import ApiToken
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving.prediction_log import drain
from tests.conftest import DEMO_CSV
from tests.serving.conftest import _fresh_caches, _logs_flushed_in_the_request, deployed  # noqa: F401

URL = "/serve/credit-card-approval/staging/invocations"


def records():
    with open(DEMO_CSV) as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        record = {k: v for k, v in row.items() if k not in ("card", "share", "expenditure")}
        for key in ("reports", "age", "income", "dependents", "months", "majorcards", "active"):
            record[key] = float(record[key])
        out.append(record)
    return out


@pytest.fixture
def traffic(client, deployed, editor):  # noqa: F811  (the serving fixture, imported above)
    """600 requests (some batches), the last 400 with income x1.6, and two refused ones; drained and folded."""
    token = ApiToken.objects.issue(editor)[1]
    rng = random.Random(3)
    pool = records()
    for i in range(600):
        batch = [dict(pool[rng.randrange(len(pool))]) for _ in range(3 if i % 50 == 0 else 1)]
        if i >= 200:
            for row in batch:
                row["income"] *= 1.6
        client.post(URL, json.dumps({"dataframe_records": batch}), "application/json",
                    HTTP_AUTHORIZATION=f"Token {token}")  # fmt: skip
    for _ in range(2):
        client.post(URL, json.dumps({"dataframe_records": [{"age": "old"}]}), "application/json",
                    HTTP_AUTHORIZATION=f"Token {token}")  # fmt: skip
    drain()
    while fold():
        pass
    return deployed
