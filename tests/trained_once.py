"""The demo model fitted and evaluated once per test session, then handed out as copies.

Fixtures that need a trained model as a means (``run_inline``, ``deploy_demo_model``) used to fit and evaluate it
again for every test: about 1.2 s of scikit-learn each time, some hundreds of times. Inside ``trained_once()``,
``training.train_model`` and ``metrics.evaluate_model`` remember what they returned for the same inputs and give a
deep copy of it next time, so every run still goes through its real steps (rows, artifact file, audit, events)
and gets exactly the model that fitting would have given: both are deterministic for a given seed, and the key is
everything they are given (the frame's and the labels' contents, schema, estimator, params, split, seed; for an
evaluation the fitted model itself). The train step's progress reports are replayed, so a cancelled run still stops
where it would have.

Only those fixtures switch it on: tests whose subject is training or evaluation (``tests/ml``) and every worker
process fit for real. Nothing in the product reads it.
"""

import copy
import hashlib
import json
import pickle
from contextlib import contextmanager

import pandas as pd

from pipelines_app.ml import metrics, training

_fitted = {}  # key → (TrainResult, the progress values reported while fitting)
_evaluated = {}  # key → report


def _fingerprint(value, digest):
    if isinstance(value, pd.DataFrame):
        digest.update(b"frame")
        digest.update(json.dumps([[str(c), str(t)] for c, t in value.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, pd.Series):
        digest.update(f"series {value.name!r} {value.dtype}".encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value, key=repr):
            _fingerprint(key, digest)
            _fingerprint(value[key], digest)
        digest.update(b"}")
    elif isinstance(value, (list, tuple)):
        digest.update(f"[{type(value).__name__}".encode())
        for item in value:
            _fingerprint(item, digest)
        digest.update(b"]")
    elif value is None or isinstance(value, (str, int, float, bool)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        # A fitted pipeline: its state, as pickle writes it (our own objects, in this process only).
        digest.update(hashlib.sha256(pickle.dumps(value)).digest())


def _key(*args, **kwargs):
    digest = hashlib.sha256()
    _fingerprint([list(args), kwargs], digest)
    return digest.hexdigest()


@contextmanager
def trained_once():
    """Within this block, fitting or evaluating with inputs seen before in this session costs a deep copy."""
    real_train, real_evaluate = training.train_model, metrics.evaluate_model

    def train_model(frame, schema, *, progress=lambda pct: None, **kwargs):
        try:
            key = _key(frame, schema, **kwargs)
        except TypeError:
            return real_train(frame, schema, progress=progress, **kwargs)  # values it cannot hash: not shared
        if key not in _fitted:
            reported = []

            def record(pct):
                reported.append(pct)
                return progress(pct)

            result = real_train(frame, schema, progress=record, **kwargs)
            _fitted[key] = (copy.deepcopy(result), reported)
            return result
        result, reported = _fitted[key]
        for pct in reported:
            progress(pct)
        return copy.deepcopy(result)

    def evaluate_model(pipeline, X_test, y_test, **kwargs):
        try:
            key = _key(pipeline, X_test, y_test, **kwargs)
        except (pickle.PicklingError, TypeError, AttributeError):
            return real_evaluate(pipeline, X_test, y_test, **kwargs)  # a model pickle cannot read: not shared
        if key not in _evaluated:
            _evaluated[key] = real_evaluate(pipeline, X_test, y_test, **kwargs)
        return copy.deepcopy(_evaluated[key])

    training.train_model, metrics.evaluate_model = train_model, evaluate_model
    try:
        yield
    finally:
        training.train_model, metrics.evaluate_model = real_train, real_evaluate
