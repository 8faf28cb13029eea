"""Which version answers a request, and the loaded models, cached per process.

Models are loaded once per process, keyed by version and SHA-256, after ``ml.artifacts.load_model`` has checked
the digest and the trusted types. Routes (deployment → primary, canary, shadow) are re-read from the database
once a second by a thread of each process (``fresh_cache``), so a new deployment or a rollback reaches every web
process within about a second, without a restart, and no request waits for that read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

import numpy as np

from pipelines_app.ml.artifacts import ArtifactIntegrityError, load_model
from pipelines_app.models import AuditEvent, Dataset
from pipelines_app.notifications import notify_admins
from pipelines_app.serving import fastpath, reasons
from pipelines_app.serving.fresh_cache import FreshCache

log = logging.getLogger(__name__)
ROUTE_TTL_S = 1.0
_lock = threading.Lock()
_models: dict[tuple[int, str], LoadedModel] = {}
_refused: dict[tuple[int, str], str] = {}


class ModelUnavailable(Exception):
    """The deployed version cannot be served (its file is missing, changed or untrusted); the message says why."""


@dataclass
class LoadedModel:
    version_id: int
    version: int
    sha256: str
    task: str
    features: list[str]
    feature_schema: list[dict]
    kinds: dict[str, str]
    classes: list[str]
    positive_index: int | None
    scorer: object
    fast_problem: str
    reference: np.ndarray | None = None  # the encoded reference applicant, for explanations (fast linear path)
    threshold: float | None = None  # the version's decision threshold (by cost), else the most probable class
    meanings: dict[str, str] | None = None  # column → what it means (the dataset's descriptions), for reasons

    @property
    def scoring_path(self):
        return self.scorer.path

    def explain(self, columns, n, k):
        """Per row ``{"base", "contributions", "reasons"}`` in log-odds of the positive label (``explanations``
        of DESIGN §7), or None where this model cannot be explained (``FastScorer.contributions`` says which can;
        a model scored by scikit-learn, off the fast path, cannot)."""
        scorer = self.scorer
        if self.positive_index is None or self.reference is None or not hasattr(scorer, "contributions"):
            return None
        found = scorer.contributions(columns, n, self.reference)
        if found is None:
            return None
        base, by_column = found
        sign = 1.0 if self.positive_index == 1 else -1.0  # the estimator's log-odds are of its second class
        names = list(by_column)
        matrix = np.column_stack([by_column[name] for name in names]) * sign
        meanings = self.meanings or {}
        explanations = []
        for row in matrix.tolist():
            contributions = dict(zip(names, row, strict=True))
            toward_negative = sorted((value, name) for name, value in contributions.items() if value < 0)
            reasons = [n for _, n in toward_negative[:k]]
            explanations.append(
                {
                    "base": base * sign,
                    "contributions": contributions,
                    "reasons": reasons,
                    "reason_texts": [meanings.get(name) or name for name in reasons],
                }
            )
        return explanations

    def score(self, columns, n):
        """(predictions, positive-class probabilities or per-class dicts or None)."""
        return self.score_all(columns, n)[:2]

    def score_all(self, columns, n):
        """(predictions, probabilities as ``score`` gives them, every class's probabilities or None). A binary
        classifier with a decision threshold (chosen by cost at evaluation) predicts its positive label at or
        above it; the probabilities are the model's either way."""
        if self.task == "regression":
            return [float(v) for v in self.scorer.predict(columns, n)], None, None
        proba = np.asarray(self.scorer.predict_proba(columns, n), dtype=np.float64)
        if self.positive_index is not None and self.threshold is not None:
            positive = self.classes[self.positive_index]
            negative = self.classes[1 - self.positive_index]
            scores = proba[:, self.positive_index]
            predictions = [positive if p >= self.threshold else negative for p in scores.tolist()]
        elif len(self.classes) == 2:
            # np.argmax's choice (the first of equals), without np.argmax: it lets other threads of the process
            # take the interpreter, and the request waits until one gives it back (the log's flusher, say).
            first, second = self.classes
            predictions = [second if b > a else first for a, b in proba.tolist()]
        else:
            predictions = [self.classes[i] for i in np.argmax(proba, axis=1)]
        if self.positive_index is not None:
            return predictions, proba[:, self.positive_index].tolist(), proba
        per_class = [dict(zip(self.classes, row, strict=True)) for row in proba.tolist()]
        return predictions, per_class, proba


@dataclass
class Route:
    deployment_id: int
    model: str
    environment: str
    public: bool
    ignore_unknown: bool
    primary: object  # ModelVersion rows (not loaded models): loading happens on first use
    canary: object
    canary_percent: int
    shadow: object


def load(version) -> LoadedModel:
    """The loaded model for a ModelVersion row; raises ``ModelUnavailable`` when it may not be served."""
    key = (version.pk, version.sha256)
    loaded = _models.get(key)
    if loaded is not None:
        return loaded
    if key in _refused:
        raise ModelUnavailable(_refused[key])
    with _lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _load(version)
            _models[key] = loaded
    return loaded


def _load(version) -> LoadedModel:
    key = (version.pk, version.sha256)
    try:
        with version.artifact.open("rb") as f:
            data = f.read()
        pipeline = load_model(data, version.sha256)
    except (ArtifactIntegrityError, OSError, ValueError) as exc:
        _refused[key] = f"{version} cannot be served: {exc}"
        _raise_alert(version, str(exc))
        raise ModelUnavailable(_refused[key]) from exc
    kinds = {entry["name"]: entry["kind"] for entry in version.feature_schema}
    classes = [str(c) for c in getattr(pipeline, "classes_", [])]
    positive = (version.target_info or {}).get("positive_label")
    positive_index = classes.index(positive) if positive in classes and len(classes) == 2 else None
    scorer, problem = fastpath.SklearnScorer(pipeline, kinds), "not compiled"
    fast = fastpath.compile_scorer(pipeline)
    if fast is None:
        problem = "the pipeline holds a step the fast path does not reproduce"
    else:
        sample = fastpath.sample_rows(version.feature_schema)
        problem = fastpath.verify(fast, pipeline, kinds, sample, len(next(iter(sample.values()), [])))
        if not problem:
            scorer = fast
    if problem:
        log.info("%s is scored by scikit-learn: %s", version, problem)
    return LoadedModel(
        version_id=version.pk,
        version=version.version,
        sha256=version.sha256,
        task=version.task,
        features=list(kinds),
        feature_schema=version.feature_schema,
        kinds=kinds,
        classes=classes,
        positive_index=positive_index,
        scorer=scorer,
        fast_problem=problem,
        reference=_reference(scorer, version),
        threshold=version.decision_threshold,
        meanings=_meanings(version),
    )


def _meanings(version) -> dict[str, str]:
    """What the version's columns mean, from its training dataset's descriptions (empty when none are given)."""
    if version.dataset_version_id is None:
        return {}
    found = Dataset.objects.filter(versions__pk=version.dataset_version_id).values_list(
        "column_descriptions", flat=True
    )
    return dict(found.first() or {})


def _reference(scorer, version):
    """The reference applicant for explanations, from the training profile's category shares."""
    if not hasattr(scorer, "reference"):
        return None
    return reasons.reference_of(scorer, version.reference_profile)


def _raise_alert(version, reason):
    """A model file that fails its check is a security event: audited and sent to the admins, once per process."""
    try:
        AuditEvent.objects.record(
            "system", "serving.model_refused", version, {"sha256": version.sha256, "reason": reason[:500]}
        )
        notify_admins(
            f"Serving refused {version}: its model file failed the integrity check.", version.get_absolute_url()
        )
    except Exception:  # noqa: BLE001  (the refusal stands even when the alert cannot be recorded)
        log.exception("could not record the refusal of %s", version)


def route(model_name: str, environment: str) -> Route | None:
    """The deployment serving ``model_name`` in ``environment``, re-read once a second off the request path."""
    return _routes.get((model_name, environment))


# What scoring never reads of a version: kept out of the route's query (the profile alone is ~6 KB a version).
_UNUSED_VERSION_FIELDS = ("reference_profile", "evaluation", "metrics", "params", "library_versions", "features")


def _read_route(key) -> Route | None:
    from pipelines_app.models import Deployment

    model_name, environment = key
    versions = ("primary_version", "canary_version", "shadow_version")
    deployment = (
        Deployment.objects.filter(model__name=model_name, environment__name=environment)
        .select_related("environment", *versions)
        .defer(*(f"{version}__{field}" for version in versions for field in _UNUSED_VERSION_FIELDS))
        .first()
    )
    if deployment is None or deployment.primary_version is None:
        return None
    return Route(
        deployment_id=deployment.pk,
        model=model_name,
        environment=environment,
        public=deployment.environment.public,
        ignore_unknown=deployment.environment.ignore_unknown_columns,
        primary=deployment.primary_version,
        canary=deployment.canary_version,
        canary_percent=deployment.canary_percent if deployment.canary_version else 0,
        shadow=deployment.shadow_version,
    )


_routes = FreshCache("routes", _read_route, ROUTE_TTL_S)


def cached_routes() -> list[Route]:
    """The routes this process holds now (no query)."""
    return [route for route in _routes.held() if route is not None]


def goes_to_canary(request_id: str, percent: int) -> bool:
    """A stable split: the same request id always lands on the same side."""
    if percent <= 0:
        return False
    bucket = int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=4).digest(), "big") % 10_000
    return bucket < percent * 100


def forget():
    """Drop every cached route and model (tests; a process that must re-read at once)."""
    with _lock:
        _models.clear()
        _routes.forget()
        _refused.clear()
