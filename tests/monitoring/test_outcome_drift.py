"""Prediction drift (the live scores against the test split's) and label drift (feedback against the training
target), from the rollups and the stored feedback."""

from types import SimpleNamespace

import numpy as np

from pipelines_app.models import PredictionLog
from pipelines_app.monitoring import drift
from pipelines_app.monitoring.summary import prediction_drift
from tests.conftest import api_client

SUMMARY = "/api/v1/monitoring/credit-card-approval/staging/summary/?window=24h"


def test_scores_like_the_test_split_do_not_drift_and_shifted_ones_do():
    rng = np.random.default_rng(0)
    reference = np.histogram(rng.beta(5, 2, 5000), bins=20, range=(0, 1))[0].tolist()
    version = SimpleNamespace(evaluation={"score_histogram": reference})
    same = np.histogram(rng.beta(5, 2, 5000), bins=20, range=(0, 1))[0].tolist()
    lower = np.histogram(rng.beta(2, 2, 5000), bins=20, range=(0, 1))[0].tolist()
    assert prediction_drift(version, same)["level"] == "ok"
    shifted = prediction_drift(version, lower)
    assert shifted["level"] == "alert" and shifted["method"] == "wasserstein" and shifted["rows"] == 5000
    unevaluated = prediction_drift(SimpleNamespace(evaluation={}), same)
    assert unevaluated["method"] == "none" and "test-split" in unevaluated["reason"]


def test_the_summary_compares_live_scores_with_the_test_split(traffic, viewer):
    body = api_client(viewer).get(SUMMARY).json()
    reference = traffic.evaluation["score_histogram"]
    scores = [s for log in PredictionLog.objects.filter(status_code=200) for s in log.scores]
    live = np.histogram(scores, bins=20, range=(0, 1))[0].tolist()
    assert body["prediction_drift"]["rows"] == 624
    assert body["prediction_drift"]["psi"] == round(drift.psi([0, *reference, 0, 0], [0, *live, 0, 0]), 6)


def test_labels_unlike_the_training_target_drift(traffic, editor, viewer):
    assert api_client(viewer).get(SUMMARY).json()["label_drift"]["reason"] == "no labels in the window yet"
    logs = list(PredictionLog.objects.filter(status_code=200, rows=1)[:300])
    # About 78% of the training applications were approved; labels as the training ones: no drift.
    training = traffic.reference_profile["columns_profile"]["card"]["frequencies"]
    yes_share = training["yes"] / (training["yes"] + training["no"])
    labels = [{"request_id": log.request_id, "label": "yes" if i < yes_share * 150 else "no"}
              for i, log in enumerate(logs[:150])]  # fmt: skip
    api_client(editor).post("/api/v1/feedback/", labels, format="json")
    alike = api_client(viewer).get(SUMMARY).json()["label_drift"]
    assert alike["rows"] == 150 and alike["level"] == "ok"
    # Then 150 more, all refused: the outcomes now differ from training.
    api_client(editor).post(
        "/api/v1/feedback/", [{"request_id": log.request_id, "label": "no"} for log in logs[150:]], format="json"
    )
    unlike = api_client(viewer).get(SUMMARY).json()["label_drift"]
    assert unlike["rows"] == 300 and unlike["level"] == "alert" and unlike["jensen_shannon"] > 0.2


def test_the_dashboard_data_holds_the_reference_scores(traffic, client_for, viewer):
    data = client_for(viewer).get("/monitoring/credit-card-approval/staging/data/?window=1h").json()
    assert data["reference_scores"] == traffic.evaluation["score_histogram"]
    assert data["prediction_drift"]["rows"] == sum(data["scores"]) == 624


def test_selection_rate_by_group_matches_the_raw_logs(traffic, viewer, client_for):
    from collections import Counter

    rows, chosen = Counter(), Counter()
    for log in PredictionLog.objects.filter(status_code=200):
        for owner, prediction in zip(log.inputs["owner"], log.predictions, strict=True):
            rows[owner] += 1
            chosen[owner] += prediction == "yes"
    body = api_client(viewer).get(SUMMARY).json()
    by_feature = {entry["feature"]: entry for entry in body["fairness"]}
    assert set(by_feature) == {"owner", "selfemp"}  # the evaluate step's sensitive features
    owner = {g["group"]: g for g in by_feature["owner"]["groups"]}
    assert {name: g["rows"] for name, g in owner.items()} == dict(rows)
    for name, group in owner.items():
        assert group["selection_rate"] == round(chosen[name] / rows[name], 4)
    rates = [g["selection_rate"] for g in owner.values()]
    assert by_feature["owner"]["demographic_parity_difference"] == round(max(rates) - min(rates), 4)
    tested = {r["feature"]: r for r in traffic.evaluation["fairness"]}
    assert by_feature["owner"]["at_evaluation"] == tested["owner"]["demographic_parity_difference"]

    data = client_for(viewer).get("/monitoring/credit-card-approval/staging/data/?window=1h").json()
    series = data["fairness_series"]["owner"]
    assert series["groups"][:2] == list(owner)[:2] or set(owner) <= set(series["groups"])
    points = series["points"]
    assert points and all(len(p["rates"]) == len(series["groups"]) for p in points)


def test_performance_over_time_counts_due_labels_per_bucket_next_to_the_estimate(traffic, editor, viewer, client_for):
    logs = list(PredictionLog.objects.filter(status_code=200, rows=1)[:100])
    labels = [
        {"request_id": log.request_id, "label": log.predictions[0] if i % 4 else "no"} for i, log in enumerate(logs)
    ]
    api_client(editor).post("/api/v1/feedback/", labels, format="json")
    expected_accuracy = sum(
        label["label"] == log.predictions[0] for label, log in zip(labels, logs, strict=True)
    ) / len(labels)
    url = "/monitoring/credit-card-approval/staging/data/?window=1h"
    series = client_for(viewer).get(url).json()["performance_series"]
    judged = [p for p in series if p.get("realised", {}).get("labelled")]
    assert sum(p["realised"]["labelled"] for p in judged) == 100
    if len(judged) == 1:  # all the traffic fell in one minute
        assert judged[0]["realised"]["accuracy"] == round(expected_accuracy, 4)
    rows = {p["t"]: p for p in client_for(viewer).get(url).json()["series"]}
    for point in judged:
        bucket_rows = sum(1 for log in PredictionLog.objects.filter(status_code=200) for _ in range(log.rows)
                          if log.created_at.replace(second=0, microsecond=0).isoformat() == point["t"])  # fmt: skip
        assert point["label_coverage"] == round(point["realised"]["labelled"] / bucket_rows, 4)
        assert point["t"] in rows and point["estimated"]["rows"] == bucket_rows
    # With outcomes a day away, nothing scored just now is due: no realised numbers, the estimate stays.
    traffic.model.label_latency_hours = 24
    traffic.model.save()
    later = client_for(viewer).get(url).json()["performance_series"]
    assert all(not p["due"] and "realised" not in p for p in later)
    assert any(p["estimated"] for p in later)
