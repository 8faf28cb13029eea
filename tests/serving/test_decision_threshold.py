"""A version with a decision threshold (chosen by cost at evaluation) predicts its positive label at or above it;
the probabilities are the model's either way."""

from pipelines_app.models import ApiToken
from pipelines_app.serving import models_cache
from tests.serving.conftest import RECORD

URL = "/serve/credit-card-approval/staging/invocations"


def test_predictions_follow_the_versions_threshold(client, deployed, editor):
    token = ApiToken.objects.issue(editor)[1]

    def answer():
        models_cache.forget()
        response = client.post(
            URL, {"dataframe_records": [RECORD]}, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
        )
        assert response.status_code == 200
        return response.json()

    default = answer()
    probability = default["probabilities"][0]
    assert default["predictions"] == ["yes" if probability >= 0.5 else "no"]
    for threshold, expected in ((probability, "yes"), (min(1.0, probability + 1e-6), "no")):
        deployed.decision_threshold = threshold
        deployed.save(update_fields=["decision_threshold"])
        scored = answer()
        assert scored["predictions"] == [expected]
        assert scored["probabilities"] == default["probabilities"]
