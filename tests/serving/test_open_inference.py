"""The Open Inference Protocol (KServe V2) under /v2/: the deployments /invocations serves, with its checks, its
prediction log and its canary split; and an unmodified V2 client (tritonclient) against a live server."""

import csv
import gzip
import json
import urllib.request

import numpy as np
import orjson
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApiToken, Environment, PredictionLog
from pipelines_app.serving import models_cache
from pipelines_app.serving.prediction_log import drain
from tests.conftest import DEMO_CSV, deploy_demo_model

MODEL = "credit-card-approval"
STAGING = f"/v2/models/{MODEL}/versions/staging"
NUMERIC = ("reports", "age", "income", "dependents", "months", "majorcards", "active")


def demo_records(n):
    with open(DEMO_CSV) as f:
        rows = list(csv.DictReader(f))[:n]
    return [
        {c: float(v) if c in NUMERIC else v for c, v in r.items() if c not in ("card", "share", "expenditure")}
        for r in rows
    ]


def v2_body(records, **extra):
    inputs = [
        {
            "name": c,
            "shape": [len(records)],
            "datatype": "FP64" if c in NUMERIC else "BYTES",
            "data": [r[c] for r in records],
        }
        for c in records[0]
    ]
    return {"inputs": inputs, **extra}


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


def infer(client, token, body, path=f"{STAGING}/infer", **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def invocations(client, token, records, environment="staging"):
    return client.post(
        f"/serve/{MODEL}/{environment}/invocations",
        data=json.dumps({"dataframe_records": records}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def outputs_of(answer):
    return {o["name"]: o for o in answer["outputs"]}


def test_tensors_get_the_predictions_and_probabilities_invocations_gives(client, deployed, token):
    records = demo_records(5)
    response = infer(client, token, v2_body(records))
    assert response.status_code == 200, response.content
    answer = response.json()
    reference = invocations(client, token, records).json()
    outputs = outputs_of(answer)
    assert outputs["predictions"] == {
        "name": "predictions",
        "datatype": "BYTES",
        "shape": [5],
        "data": reference["predictions"],
    }
    probabilities = outputs["probabilities"]
    assert probabilities["shape"] == [5, 2] and probabilities["datatype"] == "FP64"
    matrix = np.array(probabilities["data"]).reshape(5, 2)
    assert matrix[:, 1].tolist() == reference["probabilities"]  # the classes in the model's order: no, yes
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert answer["model_name"] == MODEL and answer["model_version"] == str(deployed.version)
    assert answer["id"] == response["X-Request-ID"] == answer["parameters"]["request_id"]
    assert response["X-Model-Version"] == str(deployed.version) and response["X-Deployment-Role"] == "primary"


def test_the_callers_id_is_echoed_and_kept_and_outputs_can_be_chosen(client, deployed, token):
    records = demo_records(2)
    body = v2_body(records, id="order-7", outputs=[{"name": "predictions"}])
    answer = infer(client, token, body).json()
    assert answer["id"] == "order-7" and [o["name"] for o in answer["outputs"]] == ["predictions"]
    drain()
    logged = PredictionLog.objects.get()
    assert logged.client_request_id == "order-7" and logged.request_id == answer["parameters"]["request_id"]


def test_v2_requests_land_in_the_prediction_log_as_invocations_do(client, deployed, token):
    records = demo_records(3)
    answer = infer(client, token, v2_body(records)).json()
    refused = infer(client, token, {"inputs": [{"name": "age", "shape": [1], "datatype": "BYTES", "data": ["old"]}]})
    assert drain() == 2
    scored = PredictionLog.objects.get(status_code=200)
    assert scored.rows == 3 and scored.model_version == deployed and scored.role == "primary"
    assert scored.predictions == outputs_of(answer)["predictions"]["data"]
    assert scored.scores == np.array(outputs_of(answer)["probabilities"]["data"]).reshape(3, 2)[:, 1].tolist()
    assert scored.inputs["owner"] == [r["owner"] for r in records] and scored.inputs["age"] == [
        r["age"] for r in records
    ]
    failed = PredictionLog.objects.get(status_code=400)
    assert failed.request_id == refused["X-Request-ID"] and "BYTES" in failed.error


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        ({"dataframe_records": [{"age": 1}]}, '"inputs" must be a non-empty list'),
        ({"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1.0]}]}, "has 1 values for shape [2]"),
        ({"inputs": [{"name": "owner", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, "is FP32, but the feature"),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": ["x"]}]}, "'x' is not a number"),
        ({"inputs": [{"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]}]}, "not a feature"),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [30.0]}]}, "is missing"),
        ({**v2_body(demo_records(1)), "id": "x" * 65}, '"id" must be 1 to 64'),
    ],
)
def test_bad_input_is_400_with_the_reason_in_v2s_error_shape(client, deployed, token, body, message):
    Environment.objects.filter(name="staging").update(ignore_unknown_columns=False)
    response = infer(client, token, body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert isinstance(answer["error"], str) and any(message in p["problem"] for p in answer["problems"]), answer
    assert response["X-Request-ID"]


def test_the_row_limit_and_the_body_limit(client, deployed, token, settings):
    body = v2_body(demo_records(5))
    settings.SERVING_MAX_ROWS = 3
    response = infer(client, token, body)
    assert response.status_code == 400 and "at most 3 are scored" in response.json()["error"]
    settings.SERVING_MAX_BYTES = 100
    response = infer(client, token, body)
    assert response.status_code == 413 and "at most 100" in response.json()["error"]
    response = infer(client, token, gzip.compress(json.dumps(body).encode()), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    drain()
    assert set(PredictionLog.objects.values_list("status_code", flat=True)) == {400, 413}


def test_the_view_answers_its_own_size_limit_not_the_middleware(client, deployed, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100  # the general limit: the infer view has SERVING_MAX_BYTES instead
    response = infer(client, token, v2_body(demo_records(5)))
    assert response.status_code == 200, response.content


def test_a_gzip_body_is_scored(client, deployed, token):
    body = gzip.compress(json.dumps(v2_body(demo_records(2))).encode())
    response = infer(client, token, body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200, response.content


def test_unknown_inputs_are_ignored_where_the_environment_says_so(client, deployed, token):
    Environment.objects.filter(name="staging").update(ignore_unknown_columns=True)
    models_cache.forget()
    body = v2_body(demo_records(1))
    body["inputs"].append({"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]})
    body["inputs"].append({"name": "line\nbreak", "shape": [1], "datatype": "BYTES", "data": ["x"]})
    response = infer(client, token, body)
    assert response.status_code == 200, response.content
    assert response["X-Ignored-Columns"] == "colour, line%0Abreak"
    Environment.objects.filter(name="staging").update(ignore_unknown_columns=False)
    models_cache.forget()
    response = infer(client, token, body)
    assert response.status_code == 400 and "colour" in response.json()["error"]


def test_a_token_is_required_unless_the_environment_is_public(client, deployed, token):
    body = v2_body(demo_records(1))
    response = infer(client, None, body)
    assert response.status_code == 401 and "needs a token" in response.json()["error"]
    assert response["WWW-Authenticate"] == "Token"
    assert infer(client, "mlops_not-a-token", body).status_code == 403
    assert "error" in infer(client, "mlops_not-a-token", body).json()
    assert infer(client, None, body, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get(STAGING).status_code == 401  # metadata: the same rule
    Environment.objects.filter(name="staging").update(public=True)
    models_cache.forget()
    assert infer(client, None, body).status_code == 200
    assert client.get(STAGING).status_code == 200


def test_unknown_models_environments_and_paths_are_404_in_v2s_shape(client, deployed, token):
    body = v2_body(demo_records(1))
    for path in (
        "/v2/models/nope/versions/staging/infer",
        f"/v2/models/{MODEL}/versions/nowhere/infer",
        f"/v2/models/{MODEL}/infer",
    ):  # nothing serves in production yet
        response = infer(client, token, body, path=path)
        assert response.status_code == 404 and "is deployed" in response.json()["error"], path
    response = client.get("/v2/repository/index")
    assert response.status_code == 404 and "not an Open Inference Protocol endpoint" in response.json()["error"]


def test_wrong_methods_are_405_in_v2s_shape(client, deployed, token):
    response = client.get(f"{STAGING}/infer", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 405 and response["Allow"] == "POST" and "use POST" in response.json()["error"]
    assert client.post(STAGING, HTTP_AUTHORIZATION=f"Token {token}").status_code == 405
    assert client.post("/v2/health/ready").status_code == 405


def test_health_and_server_metadata_need_no_token(client, db):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    server = client.get("/v2").json()
    assert server["name"] == "mlops-site" and "binary_tensor_data" in server["extensions"]


def test_model_metadata_comes_from_the_feature_schema(client, deployed, token):
    response = client.get(STAGING, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["name"] == MODEL and metadata["versions"] == ["staging"] and metadata["platform"] == "scikit-learn"
    inputs = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    assert inputs == {
        entry["name"]: "FP64" if entry["kind"] == "numeric" else "BYTES" for entry in deployed.feature_schema
    }
    assert inputs["income"] == "FP64" and inputs["owner"] == "BYTES"
    assert metadata["outputs"] == [
        {"name": "predictions", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
    ]
    assert response["X-Model-Version"] == str(deployed.version)
    assert client.get(f"/v2/models/{MODEL}", HTTP_AUTHORIZATION=f"Token {token}").status_code == 404  # production


def test_model_ready_is_200_once_deployed_and_404_before(client, deployed):
    assert client.get(f"{STAGING}/ready").status_code == 200
    assert client.get(f"/v2/models/{MODEL}/ready").status_code == 404
    assert client.get("/v2/models/nope/versions/staging/ready").json()["error"]


@pytest.fixture
def versions(credit_pipeline, run_inline, editor):
    """Two trained versions of the demo model; the first serves in production."""
    first = run_inline(start_run(credit_pipeline, editor)).model_version
    second = run_inline(start_run(credit_pipeline, editor, {"max_iter": 200})).model_version
    deploy_version(Environment.objects.get(name="production"), first, "system")
    return first, second


def test_the_unversioned_path_is_production_and_a_canary_gets_its_share(client, versions, token):
    first, second = versions
    body = v2_body(demo_records(1))
    response = infer(client, token, body, path=f"/v2/models/{MODEL}/infer")
    assert response.status_code == 200 and response.json()["model_version"] == str(first.version)
    deploy_version(Environment.objects.get(name="production"), second, "system", "canary", 10)
    models_cache.forget()
    answered = [infer(client, token, body, path=f"/v2/models/{MODEL}/infer") for _ in range(2000)]
    canary = [r for r in answered if r["X-Model-Version"] == str(second.version)]
    # 10% of 2,000 is 200; three standard deviations (13.4 each) either side.
    assert 160 <= len(canary) <= 240
    assert all(r["X-Deployment-Role"] == "canary" and r.json()["model_version"] == str(second.version) for r in canary)
    while drain():
        pass
    logged = PredictionLog.objects.filter(request_id__in=[r["X-Request-ID"] for r in canary])
    assert logged.count() == len(canary) and {(p.role, p.model_version_id) for p in logged} == {("canary", second.pk)}


# An unmodified V2 client against a live server.


@pytest.fixture
def served(demo_dataset, environments, redis_url):
    """The demo model serving in staging and production, committed so that the live server's thread sees it."""
    version = deploy_demo_model(demo_dataset, MODEL, "staging")
    deploy_version(Environment.objects.get(name="production"), version, "system")
    return version


@pytest.fixture
def v2_client(live_server):
    client = triton.InferenceServerClient(url=live_server.url.removeprefix("http://"))
    yield client
    client.close()


def triton_inputs(records, metadata, binary=True):
    """One InferInput per input the metadata names, of the datatype it names, filled from numpy."""
    inputs = []
    for spec in metadata["inputs"]:
        values = [r[spec["name"]] for r in records]
        array = np.array(values, dtype=np.float64 if spec["datatype"] == "FP64" else object)
        inputs.append(triton.InferInput(spec["name"], [len(records)], spec["datatype"]))
        inputs[-1].set_data_from_numpy(array, binary_data=binary)
    return inputs


def invocations_over_http(live_server, token, records, environment):
    request = urllib.request.Request(
        f"{live_server.url}/serve/{MODEL}/{environment}/invocations",
        data=json.dumps({"dataframe_records": records}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request) as answer:
        return orjson.loads(answer.read())


@pytest.mark.django_db(transaction=True)
def test_tritonclient_gets_what_invocations_answers(served, v2_client, live_server, token):
    def auth():  # a dict of its own per call: tritonclient adds its own headers to the one it is given
        return {"Authorization": f"Token {token}"}

    assert v2_client.is_server_live() and v2_client.is_server_ready()
    assert v2_client.get_server_metadata()["name"] == "mlops-site"
    assert v2_client.is_model_ready(MODEL) and v2_client.is_model_ready(MODEL, "staging")
    assert not v2_client.is_model_ready("nope")
    metadata = v2_client.get_model_metadata(MODEL, headers=auth())
    assert metadata["versions"] == ["production", "staging"]
    records = demo_records(20)
    for environment in ("production", "staging"):
        reference = invocations_over_http(live_server, token, records, environment)
        version = "" if environment == "production" else environment
        for binary in (True, False):  # the client's default (binary tensors), then JSON
            result = v2_client.infer(
                MODEL, triton_inputs(records, metadata, binary), model_version=version, headers=auth()
            )
            predictions = [p.decode() if isinstance(p, bytes) else p for p in result.as_numpy("predictions")]
            assert predictions == reference["predictions"]
            assert result.as_numpy("probabilities")[:, 1].tolist() == reference["probabilities"]
            assert result.get_response()["model_version"] == str(served.version)
    chosen = v2_client.infer(
        MODEL,
        triton_inputs(records[:3], metadata),
        headers=auth(),
        request_id="batch-9",
        outputs=[triton.InferRequestedOutput("predictions", binary_data=False)],
    )
    assert chosen.get_output("probabilities") is None and len(chosen.get_output("predictions")["data"]) == 3
    assert chosen.get_response()["id"] == "batch-9"
    drain()
    logged = PredictionLog.objects.filter(status_code=200)
    assert logged.count() == 7 and sorted(logged.values_list("rows", flat=True)) == [3] + [20] * 6
    assert logged.filter(client_request_id="batch-9").exists()


@pytest.mark.django_db(transaction=True)
def test_tritonclient_reads_our_refusals(served, v2_client, token):
    inputs = [triton.InferInput("age", [1], "BYTES").set_data_from_numpy(np.array(["old"], dtype=object))]
    with pytest.raises(InferenceServerException) as refused:
        v2_client.infer(MODEL, inputs, headers={"Authorization": f"Token {token}"})
    assert refused.value.status() == "400" and "is BYTES, but the feature is a number" in refused.value.message()
    with pytest.raises(InferenceServerException) as unauthorised:
        v2_client.infer(MODEL, inputs)
    assert unauthorised.value.status() == "401" and "needs a token" in unauthorised.value.message()
    with pytest.raises(InferenceServerException) as missing:
        v2_client.get_model_metadata("nope", headers={"Authorization": f"Token {token}"})
    assert missing.value.status() == "404"
