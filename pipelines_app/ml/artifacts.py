"""Save and load fitted models as skops files, checked by SHA-256 before anything is read (DESIGN.md §9, §10).

A model file is bytes that anyone with access to the artifact store could replace, so loading it must never run
code: skops rebuilds only the types it is told to trust, and pickle is never used. ``load_model`` first compares
the bytes with the digest recorded when the model was registered, then refuses any type outside skops' defaults
and ``TRUSTED_TYPES``.

It imports no Django so that it can be unit-tested alone.
"""

from __future__ import annotations

import hashlib
import hmac
import zipfile

import skops.io as sio

# What skops may load on top of the types it trusts by default: the one place this is decided. It covers the
# standard preprocessing (DESIGN.md §6) behind the estimators the pipeline wizard offers (LogisticRegression,
# Ridge, RandomForest*, GradientBoosting*, HistGradientBoosting*) and their close kin (ExtraTrees*,
# DecisionTree*, LinearRegression, Lasso, ElasticNet), as found by dumping each fitted pipeline and asking
# ``skops.io.get_untrusted_types``; tests/ml/test_artifacts.py checks that it stays complete.
TRUSTED_TYPES: list[str] = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
]


class ArtifactIntegrityError(Exception):
    """A model file is not the one registered, or holds something that may not be loaded; never load it."""


def dump_model(pipeline) -> bytes:
    """The fitted pipeline as the bytes of a skops file."""
    return sio.dumps(pipeline)


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of a model file, recorded with the model version and checked before every load."""
    return hashlib.sha256(data).hexdigest()


def untrusted_types_of(pipeline) -> list[str]:
    """Types in the pipeline's skops file that ``load_model`` would refuse; empty when it can be loaded back."""
    return _untrusted(dump_model(pipeline))


def load_model(data: bytes, expected_sha256: str):
    """The pipeline in a skops file, once its digest matches and every type in it is trusted.

    Raises ``ArtifactIntegrityError`` for a digest mismatch (before the bytes are parsed at all), a file that is
    not a skops file, or untrusted types (named in the message).
    """
    actual = sha256_of(data)
    if not hmac.compare_digest(actual, str(expected_sha256 or "").strip().lower()):
        raise ArtifactIntegrityError(
            f"The model file's SHA-256 is {actual}, not the {expected_sha256} recorded for it; it was changed or "
            "damaged, so it will not be loaded."
        )
    try:
        untrusted = _untrusted(data)
        if untrusted:
            raise ArtifactIntegrityError(
                f"The model file holds types that are not trusted, so it will not be loaded: {', '.join(untrusted)}."
            )
        return sio.loads(data, trusted=TRUSTED_TYPES)
    except ArtifactIntegrityError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, ImportError) as exc:
        # A file that matches its digest but does not load was broken when saved, or was saved by a library
        # version this one cannot read; either way it cannot be served.
        raise ArtifactIntegrityError(f"The model file cannot be loaded: {type(exc).__name__}: {exc}") from exc


def _untrusted(data: bytes) -> list[str]:
    trusted = set(TRUSTED_TYPES)
    return sorted(name for name in sio.get_untrusted_types(data=data) if name not in trusted)
