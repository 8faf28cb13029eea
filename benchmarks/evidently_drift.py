"""Evidently's DataDriftPreset on the reference and current CSV files given, timed; run by benchmarks/drift.py in
benchmarks/.evidently-venv (Evidently is never a product dependency). Prints one JSON line: seconds and, per
column, Evidently's method, value and whether it called the column drifted."""

import json
import sys
import time

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

P_VALUE_METHODS = ("K-S", "chi-square", "Z-test", "p_value")


def main(reference_csv, current_csv):
    reference = pd.read_csv(reference_csv)
    current = pd.read_csv(current_csv)
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(reference_data=reference, current_data=current)
    seconds = time.perf_counter() - started
    columns = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config") or {}
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        method, threshold, value = config["method"], config["threshold"], metric["value"]
        # p-values drift below the threshold, distances at or above it.
        drifted = value < threshold if any(name in method for name in P_VALUE_METHODS) else value >= threshold
        columns[config["column"]] = {"method": method, "value": value, "drifted": bool(drifted)}
    print(json.dumps({"seconds": seconds, "columns": columns}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
