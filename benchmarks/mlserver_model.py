"""Run with benchmarks/.mlserver-venv's Python: save our fitted pipeline (a skops file) as a model folder for Seldon's
MLServer and its stock scikit-learn runtime (mlserver-sklearn), configured as an MLServer user would.

Usage: mlserver_model.py <model.skops> <output dir> <model name> <inputs JSON>, the inputs a list of
``{"name": ..., "datatype": "FP64" | "BYTES"}`` in the model's feature order. The runtime loads model.joblib;
model-settings.json declares the inputs, decodes a request into a DataFrame (content type "pd", one column per
input tensor; BYTES columns as text, "str") and answers predict_proba, as ours does. So MLServer needs no code of
ours and receives the same V2 bodies as our V2 endpoint: one tensor per column.
"""

import json
import sys
from pathlib import Path

import joblib
import skops.io as sio


def main(artifact, output, name, inputs):
    data = Path(artifact).read_bytes()
    pipeline = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, folder / "model.joblib")
    settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "inputs": [
            {
                "name": tensor["name"],
                "datatype": tensor["datatype"],
                "shape": [-1],
                **({"parameters": {"content_type": "str"}} if tensor["datatype"] == "BYTES" else {}),
            }
            for tensor in json.loads(inputs)
        ],
        "parameters": {"uri": "./model.joblib", "content_type": "pd", "extra": {"predict_fn": "predict_proba"}},
    }
    (folder / "model-settings.json").write_text(json.dumps(settings, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:5])
