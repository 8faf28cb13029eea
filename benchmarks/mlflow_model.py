"""Run with benchmarks/.mlflow-venv's Python: save our fitted pipeline (a skops file) as an MLflow model.

Usage: mlflow_model.py <model.skops> <output dir>. The signature comes from the demo data, so that MLflow checks
and converts inputs as it would for any logged model; predictions are predict_proba, like ours.
"""

import sys
from pathlib import Path

import mlflow.sklearn
import pandas as pd
import skops.io as sio
from mlflow.models import infer_signature

ROOT = Path(__file__).resolve().parent.parent


def main(artifact, output):
    data = Path(artifact).read_bytes()
    pipeline = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    frame = pd.read_csv(ROOT / "pipelines_app" / "demo" / "credit_card_applications.csv")
    columns = list(pipeline.feature_names_in_)
    example = frame[columns].head(20)
    for column in example.columns:
        if example[column].dtype.kind in "iu":
            example[column] = example[column].astype("float64")
    signature = infer_signature(example, pipeline.predict_proba(example))
    mlflow.sklearn.save_model(
        pipeline,
        output,
        serialization_format="skops",
        skops_trusted_types=sio.get_untrusted_types(data=data),
        pyfunc_predict_fn="predict_proba",
        signature=signature,
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
