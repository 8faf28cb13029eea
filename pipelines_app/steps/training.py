"""``train`` fits the preprocessing + estimator pipeline and registers a model version;
``evaluate`` scores it on the held-out split, with fairness by group."""

from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction

from pipelines_app import dispatch
from pipelines_app.ml import artifacts, metrics, search, training
from pipelines_app.models import ModelVersion, PipelineRun, RegisteredModel, SearchTrial, StepRun
from pipelines_app.serving.reasons import reasons_by_group
from pipelines_app.spec import steps as spec_steps
from pipelines_app.spec.estimators import param_problem
from pipelines_app.steps.base import Step, StepFailed, WaitForTrials
from pipelines_app.steps.data import ingested_version

# The settings of a train step that are text or free values, and so may hold `${...}` references.
_FILLED = ("target", "positive_label", "params", "features", "drop")


class TrainStep(Step):
    """Split with the seed, fit (reporting progress), store the model with skops and register a version."""

    Spec = spec_steps.TrainStep

    def run(self, ctx):
        existing = ModelVersion.objects.filter(step_run=ctx.step_run).select_related("model").first()
        if existing:
            # A retry after the version was saved: the step's output already exists; never make a second one.
            ctx.log(f"model version {existing} was already registered by this step; reusing it")
            return _outputs(existing)
        spec = filled_spec(ctx)
        dataset_version = ingested_version(ctx)
        frame = dataset_version.read_frame()
        params = spec.params
        searched = _searched(ctx, spec) if spec.search else None
        if searched:
            params = {**params, **searched["best_params"]}
        _check_param_bounds(spec, params)
        ctx.log(f"training {spec.estimator} on {dataset_version.ref} ({len(frame)} rows), params {params}")
        try:
            result = training.train_model(
                frame,
                dataset_version.schema,
                target=spec.target,
                estimator_path=spec.estimator,
                params=params,
                features=spec.features,
                drop=spec.drop,
                test_size=spec.test_size,
                random_state=spec.random_state,
                task=spec.task,
                positive_label=spec.positive_label,
                progress=ctx.progress,
            )
        except (ValueError, KeyError) as exc:
            raise StepFailed(f"training failed: {exc}") from exc
        data = artifacts.dump_model(result.pipeline)
        digest = artifacts.sha256_of(data)
        version = register_model_version(ctx, result, data, digest, dataset_version, spec.target)
        ctx.log(
            f"registered {version} (sha256 {digest[:16]}…), {result.train_rows} train / {result.test_rows} test rows"
        )
        return {**_outputs(version), **({"search": searched} if searched else {})}


def filled_spec(ctx):
    """The train step's spec with its ``${...}`` references filled, as its fit and its search's trials read it."""
    return ctx.step_spec.model_copy(update=ctx.fill({key: getattr(ctx.step_spec, key) for key in _FILLED}))


def score_trial(ctx, trial_params) -> list[float]:
    """One search trial's fold scores: the step's own data, split and estimator, its params with the trial's."""
    spec = filled_spec(ctx)
    dataset_version = ingested_version(ctx)
    return search.cross_validated(
        dataset_version.read_frame(), dataset_version.schema, target=spec.target, estimator_path=spec.estimator,
        params={**spec.params, **trial_params}, features=spec.features, drop=spec.drop, test_size=spec.test_size,
        random_state=spec.random_state, task=spec.task, positive_label=spec.positive_label, cv=spec.search.cv,
        metric=spec.search.metric,
    )  # fmt: skip


def _searched(ctx, spec):
    """The search's outcome once its trials have run (``engine.search``): the best parameters and a summary;
    before that, the trials are made and queued and the step parks (``WaitForTrials``)."""
    trials = list(ctx.step_run.trials.all())
    if not trials:
        candidates = search.candidates(spec.search.space, spec.search.method, spec.search.trials,
                                       spec.search.random_state)  # fmt: skip
        with transaction.atomic():
            made = SearchTrial.objects.bulk_create(
                SearchTrial(step_run=ctx.step_run, number=i + 1, params=params) for i, params in enumerate(candidates)
            )
            for trial in made:  # sent once the trials are committed; engine.search runs them
                dispatch.run_trial(trial.pk, trial.attempt, time_limit=ctx.step_run.time_limit_s or 3600)
        ctx.log(f"search: {len(candidates)} trials queued on the training workers ({spec.search.method}, "
                f"{spec.search.cv}-fold, {spec.search.metric}); this step waits for them without a worker")  # fmt: skip
        raise WaitForTrials()
    if any(not trial.finished for trial in trials):
        raise WaitForTrials()
    scored = [t for t in trials if t.status == SearchTrial.Status.SUCCEEDED and t.score is not None]
    if not scored:
        errors = "; ".join(sorted({t.error for t in trials if t.error}))[:500]
        raise StepFailed(f"search: none of the {len(trials)} trials could be scored ({errors})")
    best = max(scored, key=lambda t: (t.score, -t.number))
    ctx.log(f"search: best of {len(scored)} scored trials is #{best.number}, {spec.search.metric} "
            f"{best.score:.4f} with {best.params}; refitting it on the whole training split")  # fmt: skip
    return {
        "trials": len(trials),
        "scored": len(scored),
        "metric": spec.search.metric,
        "best_trial": best.number,
        "best_score": best.score,
        "best_params": best.params,
        "workers": sorted({t.worker_host for t in trials if t.worker_host}),
    }


def _check_param_bounds(spec, params):
    """The spec's bounds again, on the params as the run gives them: a version saved before the bounds existed,
    or an input, may ask for more (checked on the values as training will read them, "200" as 200)."""
    estimator = spec.estimator_class()
    try:
        coerced = training.coerce_params(estimator, params)
    except ValueError as exc:
        raise StepFailed(f"training failed: {exc}") from exc
    for key, value in coerced.items():
        problem = param_problem(estimator, key, value)
        if problem:
            raise StepFailed(f"training refused: {problem}")


def _outputs(version):
    return {
        "model": version.model.name,
        "model_version": version.version,
        "sha256": version.sha256,
        "model_version_id": version.pk,
        "task": version.task,
    }


def register_model_version(ctx, result, data, digest, dataset_version, target):
    model, _ = RegisteredModel.objects.get_or_create(name=ctx.spec.model)
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        number = (model.versions.aggregate(n=models.Max("version"))["n"] or 0) + 1
        version = ModelVersion(
            model=model,
            version=number,
            step_run=ctx.step_run,
            run=ctx.run,
            pipeline_version=ctx.run.pipeline_version,
            dataset_version=dataset_version,
            sha256=digest,
            task=result.task,
            target=target,
            target_info=result.target_info,
            estimator=result.estimator,
            params=result.params,
            features=result.features,
            feature_schema=result.feature_schema,
            reference_profile=result.reference_profile,
            library_versions=result.library_versions,
            train_rows=result.train_rows,
            test_rows=result.test_rows,
            created_by=ctx.run.triggered_by,
        )
        version.artifact.save(f"v{number}.skops", ContentFile(data), save=False)
        try:
            version.save()
        except IntegrityError:
            version.artifact.delete(save=False)
            raise
        PipelineRun.objects.filter(pk=ctx.run.pk).update(model_version=version)
        from pipelines_app.models import AuditEvent

        AuditEvent.objects.record("system", "model.registered", version, {"run": ctx.run.pk, "sha256": digest})
    return version


def trained_version(ctx, step_name=None):
    if step_name:
        step = ctx.run.steps.filter(name=step_name).first()
    else:
        step = ctx.earlier_step("train")
    version = (
        ModelVersion.objects.filter(step_run=step).select_related("model", "dataset_version").first() if step else None
    )
    if version is None:
        raise StepFailed("no model was trained before this step")
    return version


def load_pipeline(version):
    with version.artifact.open("rb") as f:
        return artifacts.load_model(f.read(), version.sha256)


class EvaluateStep(Step):
    """Metrics, curves, permutation importance and fairness on the held-out split; stored on the model version."""

    Spec = spec_steps.EvaluateStep

    def run(self, ctx):
        version = trained_version(ctx, ctx.step_spec.model_step)
        train_step = StepRun.objects.get(pk=version.step_run_id)
        train_spec = ctx.spec.step(train_step.name)
        frame = version.dataset_version.read_frame()
        sensitive_features = ctx.fill(ctx.step_spec.sensitive_features)
        missing = [c for c in sensitive_features if c not in frame.columns]
        if missing:
            raise StepFailed(f"sensitive feature(s) not in the data: {', '.join(missing)}")
        pipeline = load_pipeline(version)
        X_test, y_test = training.held_out(
            frame,
            version.dataset_version.schema,
            target=version.target,
            features=version.features,
            task=version.task,
            target_info=version.target_info,
            test_size=train_spec.test_size,
            random_state=train_spec.random_state,
        )
        ctx.progress(20)
        report = metrics.evaluate_model(
            pipeline,
            X_test,
            y_test,
            task=version.task,
            target_info=version.target_info,
            sensitive=frame.loc[X_test.index, sensitive_features],
            costs=ctx.step_spec.costs.model_dump() if ctx.step_spec.costs else None,
        )
        version.metrics = report["metrics"]
        version.evaluation = {k: v for k, v in report.items() if k != "metrics"}
        if sensitive_features:
            fields = {
                "feature_schema": version.feature_schema,
                "reference_profile": version.reference_profile,
                "positive_label": (version.target_info or {}).get("positive_label"),
            }
            by_group = reasons_by_group(pipeline, fields, X_test, frame.loc[X_test.index, sensitive_features])
            if by_group is not None:
                version.evaluation["reasons_by_group"] = by_group
        version.decision_threshold = report["metrics"].get("threshold")
        version.save(update_fields=["metrics", "evaluation", "decision_threshold"])
        if version.decision_threshold is not None:
            ctx.log(
                f"threshold {version.decision_threshold:.4f} by cost: expected cost "
                f"{report['metrics']['expected_cost']:.4f} per application"
            )
        shown = ", ".join(f"{k} {v:.3f}" for k, v in report["metrics"].items() if isinstance(v, float))
        ctx.log(f"{version}: {shown}")
        return report["metrics"]
