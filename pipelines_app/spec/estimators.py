"""The `estimator` of a train step: a public scikit-learn estimator class, named as 'sklearn.<module>.<Class>'.

Nothing outside scikit-learn may be named: the path is checked against a pattern before anything is imported,
only scikit-learn's public subpackages are imported, and the result must be an estimator class that predicts.
scikit-learn itself is imported here lazily, on the first train step validated, because it takes seconds.
"""

import functools
import importlib
import importlib.util
import inspect
import re

from .errors import closest, did_you_mean

EXAMPLE = "sklearn.ensemble.RandomForestClassifier"
_PATH = re.compile(r"^sklearn\.([a-z_][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
# Public subpackages that hold no estimators, or whose import has side effects (enabling experiments).
_NOT_ESTIMATOR_MODULES = {"callback", "datasets", "exceptions", "experimental", "externals", "inspection", "metrics"}


class EstimatorError(ValueError):
    """The estimator path names no usable scikit-learn estimator; the message says why and what might be meant."""


@functools.cache
def estimator_modules() -> tuple[str, ...]:
    """Names of scikit-learn's public subpackages that may hold estimators (asked once per process)."""
    import sklearn

    return tuple(
        name
        for name in sklearn.__all__
        if name.islower()
        and name not in _NOT_ESTIMATOR_MODULES
        and importlib.util.find_spec(f"sklearn.{name}") is not None
    )


def load_estimator(path: str) -> type:
    """The estimator class `path` names, or EstimatorError with a plain reason and a did-you-mean."""
    match = _PATH.match(path)
    if not match:
        if not path.startswith("sklearn."):
            raise EstimatorError(
                f"estimator '{path}' is not a scikit-learn class; only names such as '{EXAMPLE}' are allowed"
            )
        raise EstimatorError(
            f"estimator '{path}' is not written as 'sklearn.<module>.<Class>', e.g. '{EXAMPLE}'"
            + _suggest_anywhere(path.rsplit(".", 1)[-1])
        )
    module_name, class_name = match.groups()
    modules = estimator_modules()
    if module_name in _NOT_ESTIMATOR_MODULES:
        raise EstimatorError(f"'sklearn.{module_name}' holds no estimators a train step can fit, e.g. '{EXAMPLE}'")
    if module_name not in modules:
        hint = did_you_mean(module_name, modules, prefix="sklearn.")
        raise EstimatorError(
            f"scikit-learn has no estimator module 'sklearn.{module_name}'" + (hint or _suggest_anywhere(class_name))
        )
    module = importlib.import_module(f"sklearn.{module_name}")
    public = getattr(module, "__all__", None) or [name for name in dir(module) if not name.startswith("_")]
    estimator = getattr(module, class_name, None) if class_name in public else None
    if estimator is None:
        siblings = [name for name in public if _is_estimator(getattr(module, name, None))]
        hint = _suggest_anywhere(class_name, exact_only=True)
        hint = hint or did_you_mean(class_name, siblings, prefix=f"sklearn.{module_name}.")
        hint = hint or _suggest_anywhere(class_name)
        raise EstimatorError(f"'sklearn.{module_name}' has no estimator '{class_name}'{hint}")
    if not _is_estimator(estimator):
        raise EstimatorError(f"'{path}' is not a scikit-learn estimator class")
    if inspect.isabstract(estimator) or not hasattr(estimator, "predict"):
        raise EstimatorError(
            f"'{path}' does not predict, so it cannot be the model a train step fits; use a "
            f"classifier or regressor, e.g. '{EXAMPLE}'"
        )
    return estimator


def estimator_parameters(estimator: type) -> set[str] | None:
    """The parameters the estimator's constructor takes; None when it takes any (**kwargs)."""
    parameters = inspect.signature(estimator.__init__).parameters.values()
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return {parameter.name for parameter in parameters if parameter.name != "self"}


def _is_estimator(candidate) -> bool:
    from sklearn.base import BaseEstimator

    return inspect.isclass(candidate) and issubclass(candidate, BaseEstimator)


def _suggest_anywhere(class_name: str, exact_only: bool = False) -> str:
    """'; did you mean ...?' over every scikit-learn estimator that predicts: slow, so only on the way to an error."""
    try:
        from sklearn.utils.discovery import all_estimators

        estimators = all_estimators()
    except Exception:  # a suggestion is a courtesy; failing to find one must never hide the error being reported
        return ""
    paths = {}
    for name, estimator in estimators:
        path = f"{estimator.__module__.split('._')[0]}.{name}"
        if hasattr(estimator, "predict") and _PATH.match(path):
            paths[name] = path
    match = class_name if class_name in paths else None if exact_only else closest(class_name, paths)
    return f"; did you mean '{paths[match]}'?" if match else ""
