"""``ingest`` pins a dataset version; ``validate_data`` runs the file's checks and looks for leakage."""

from pipelines_app.ml.metrics import leakage_scan
from pipelines_app.models import Dataset
from pipelines_app.spec import steps as spec_steps
from pipelines_app.steps.base import Step, StepFailed


def resolve_dataset_version(ref):
    slug, _, number = str(ref).partition("@")
    dataset = Dataset.objects.filter(slug=slug).first()
    if dataset is None:
        raise StepFailed(f"dataset '{slug}' does not exist; upload it on the Datasets page first")
    version = dataset.versions.filter(number=int(number)).first() if number else dataset.latest_version()
    if version is None:
        raise StepFailed(f"dataset '{slug}' has no version {number or ''}".strip())
    return version


def ingested_version(ctx):
    """The dataset version pinned by the last ingest step before this one."""
    from pipelines_app.models import DatasetVersion

    step = ctx.earlier_step("ingest")
    if step is None:
        raise StepFailed("no ingest step ran before this one")
    return DatasetVersion.objects.select_related("dataset").get(pk=step.outputs["dataset_version_id"])


class IngestStep(Step):
    """Pin the dataset version (latest, or name@N) and record its hash."""

    Spec = spec_steps.IngestStep

    def run(self, ctx):
        version = resolve_dataset_version(ctx.step_spec.dataset)
        ctx.log(f"pinned {version.ref}: {version.row_count} rows, sha256 {version.sha256[:16]}…")
        return {
            "dataset": version.dataset.slug,
            "dataset_version": version.number,
            "dataset_version_id": version.pk,
            "sha256": version.sha256,
            "rows": version.row_count,
        }


def _check(check, frame):
    """(description, passed, observed) for one data check."""
    rows = len(frame)
    if check.row_count_min is not None:
        return f"at least {check.row_count_min} rows", rows >= check.row_count_min, rows
    if check.row_count_max is not None:
        return f"at most {check.row_count_max} rows", rows <= check.row_count_max, rows
    if check.column is not None and check.column not in frame.columns:
        return f"column '{check.column}' exists", False, "missing"
    if check.missing_fraction_max is not None:
        if check.column:
            observed = float(frame[check.column].isna().mean())
            where = f"'{check.column}'"
        else:
            observed = float(frame.isna().mean().max()) if rows else 0.0
            where = "every column"
        return (
            f"missing fraction of {where} ≤ {check.missing_fraction_max}",
            observed <= check.missing_fraction_max,
            round(observed, 4),
        )
    column = frame[check.column]
    if check.min is not None or check.max is not None:
        values = column.dropna()
        low, high = (float(values.min()), float(values.max())) if len(values) else (None, None)
        ok = low is None or ((check.min is None or low >= check.min) and (check.max is None or high <= check.max))
        bounds = f"{check.min if check.min is not None else '-∞'}..{check.max if check.max is not None else '∞'}"
        return f"'{check.column}' within {bounds}", ok, {"min": low, "max": high}
    if check.allowed is not None:
        allowed = {str(v) for v in check.allowed}
        bad = sorted({str(v) for v in column.dropna().unique()} - allowed)[:10]
        return f"'{check.column}' only takes allowed values", not bad, bad or "none outside"
    if check.not_null:
        n = int(column.isna().sum())
        return f"'{check.column}' has no missing values", n == 0, n
    if check.unique:
        n = int(column.duplicated().sum())
        return f"'{check.column}' values are unique", n == 0, n
    return "unknown check", False, None


class ValidateDataStep(Step):
    """Run the checks; each passes or fails with the value seen. Flags single features that give the target away."""

    Spec = spec_steps.ValidateDataStep

    def run(self, ctx):
        version = ingested_version(ctx)
        frame = version.read_frame()
        results = []
        for check in ctx.step_spec.checks:
            description, passed, observed = _check(check, frame)
            results.append({"check": description, "passed": bool(passed), "observed": observed})
            ctx.log(f"{'pass' if passed else 'FAIL'}: {description} (observed {observed})")
        warnings = []
        target = _target_of(ctx)
        if target and target in frame.columns:
            for hit in leakage_scan(frame, target, version.schema, threshold=ctx.step_spec.leakage_auc_max):
                message = (
                    f"'{hit['column']}' alone separates '{target}' almost perfectly (score "
                    f"{hit['score']:.3f}): suspected leakage"
                )
                warnings.append({"column": hit["column"], "score": hit["score"], "message": message})
                ctx.log("warning: " + message)
        failed = [r for r in results if not r["passed"]]
        outputs = {"passed": not failed, "checks": results, "warnings": warnings}
        if failed:
            raise StepFailed(
                f"{len(failed)} of {len(results)} data checks failed: " + "; ".join(r["check"] for r in failed),
                outputs=outputs,
            )
        return outputs


def _target_of(ctx):
    """The target of the first train step after this one, if any."""
    for _, step in ctx.spec.steps():
        if step.type == "train":
            return step.target
    return None
