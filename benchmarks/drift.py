#!/usr/bin/env python
"""make bench: the exact drift report on 1,000,000 rows next to Evidently's DataDriftPreset on the same data.

Reference: the demo data's features. Current: 1,000,000 rows sampled from it (seeded) with income ×1.3 and the
binary `owner` flipped on 10% of rows. Ours is what the exact report job runs once it holds the values
(``monitoring.drift.exact_feature_drift`` per feature, scipy's KS / Wasserstein and chi-square / Jensen–Shannon);
Evidently 0.7.23 runs in its own virtualenv (benchmarks/.evidently-venv, created on first use; it needs
pandas<3). Both get the same rows; the time of reading them is left out of both.

Targets (the monitoring issue): ours >= 20x faster than Evidently, catching both the income shift and the owner
flip. Figures are printed, never asserted. BENCH_DRIFT_ROWS changes the volume.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVIDENTLY_VENV = ROOT / "benchmarks" / ".evidently-venv"
EVIDENTLY_VERSION = "0.7.23"
ROWS = int(os.environ.get("BENCH_DRIFT_ROWS", "1000000"))
# The demo data that ships with the project (a clone has nothing outside it).
DEMO_CSV = ROOT / "pipelines_app" / "demo" / "credit_card_applications.csv"


def ensure_evidently():
    python = EVIDENTLY_VENV / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import evidently"], capture_output=True) if python.exists() else None
    if probe is None or probe.returncode != 0:
        print(f"installing Evidently {EVIDENTLY_VERSION} into {EVIDENTLY_VENV} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"evidently=={EVIDENTLY_VERSION}", "pandas<3"],
            check=True,
        )
    return python


def data():
    """(reference, current) DataFrames of the model's features: the demo data, and ROWS shifted rows."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(DEMO_CSV)
    features = [c for c in frame.columns if c not in ("card", "share", "expenditure")]
    reference = frame[features]
    rng = np.random.default_rng(0)
    current = reference.iloc[rng.integers(len(reference), size=ROWS)].reset_index(drop=True).copy()
    current["income"] *= 1.3
    flip = rng.random(ROWS) < 0.1
    current.loc[flip, "owner"] = current.loc[flip, "owner"].map({"yes": "no", "no": "yes"})
    return reference, current


def ours(reference, current):
    """The report's computation on the values as the job holds them (lists, None for missing): seconds, results."""
    from pipelines_app.ml.datasets import apply_schema, infer_schema
    from pipelines_app.monitoring import drift

    kinds = infer_schema(reference)
    columns = {}
    for name, frame in (("reference", reference), ("current", current)):
        typed = apply_schema(frame, kinds)
        columns[name] = {c: typed[c].astype(object).where(typed[c].notna(), None).tolist() for c in kinds}
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        results = {
            c: drift.exact_feature_drift(kinds[c], columns["reference"][c], columns["current"][c]) for c in kinds
        }
        drift.overall(results)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), results


def evidently(python, reference, current):
    with tempfile.TemporaryDirectory(prefix="mlops-bench-drift.") as folder:
        reference_csv, current_csv = Path(folder) / "reference.csv", Path(folder) / "current.csv"
        reference.to_csv(reference_csv, index=False)
        current.to_csv(current_csv, index=False)
        out = subprocess.run(
            [str(python), str(ROOT / "benchmarks" / "evidently_drift.py"), str(reference_csv), str(current_csv)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    python = ensure_evidently()
    reference, current = data()
    our_s, results = ours(reference, current)
    theirs = evidently(python, reference, current)
    print(
        f"exact drift, {len(reference):,} reference rows against {ROWS:,} current rows (income x1.3, owner 10% flipped)"
    )
    header = f"{'feature':12} {'ours: method':>16} {'score':>9} {'level':>6}   "
    print(header + f"{'Evidently: method':>30} {'value':>9} drifted")
    for name, result in results.items():
        other = theirs["columns"].get(name, {})
        print(
            f"{name:12} {result['method']:>16} {result.get('score', 0):>9.4f} {result['level']:>6}   "
            f"{other.get('method', '-'):>30} {other.get('value', float('nan')):>9.4f} {other.get('drifted')}"
        )
    caught = {name: results[name]["level"] != "ok" for name in ("income", "owner")}
    their_caught = {name: theirs["columns"].get(name, {}).get("drifted") for name in ("income", "owner")}
    print(
        f"ours {our_s:.2f} s, Evidently {theirs['seconds']:.2f} s: {theirs['seconds'] / our_s:.1f}x faster (target 20x)"
    )
    print(f"caught income / owner: ours {caught['income']} / {caught['owner']}, "
          f"Evidently {their_caught['income']} / {their_caught['owner']} (target: both)")  # fmt: skip


if __name__ == "__main__":
    main()
