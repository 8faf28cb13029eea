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


# The most a parameter may ask for: counts (trees, neighbours, restarts, folds, processes), sizes (layers, units,
# cache) and iterations. Each bounds the time or memory one fit holds a worker for; the defaults of scikit-learn
# are far below every one. A parameter not listed is not bounded here (its cost does not grow with its value, or
# the data bounds it, as with max_depth). PARAM_MAXIMA applies to every estimator that takes the parameter;
# ESTIMATOR_MAXIMA overrides it for estimators whose steps cost much more (or less) than the rest.
PARAM_MAXIMA: dict[str, int] = {
    "n_estimators": 2_000,  # trees or boosting stages
    "max_iter": 10_000,  # solver iterations, or epochs
    "max_iter_predict": 10_000,  # GaussianProcessClassifier's Newton iterations
    "max_fun": 50_000,  # function calls of the lbfgs solver
    "max_trials": 10_000,  # RANSAC's random subsets
    "max_subpopulation": 100_000,  # Theil-Sen's subsets
    "max_n_alphas": 10_000,  # Lars' path points
    "n_restarts_optimizer": 100,  # Gaussian processes' optimiser restarts
    "n_init": 100,  # mixture and k-means initialisations
    "n_clusters": 1_000,
    "n_neighbors": 1_000,
    "cv": 20,  # cross-validation folds (given as a number)
    "Cs": 100,  # regularisation strengths tried (given as a number)
    "cache_size": 2_048,  # SVM kernel cache, MB
    "n_jobs": 16,  # processes or threads, on a worker other steps share
}
ESTIMATOR_MAXIMA: dict[str, dict[str, int]] = {
    # Histogram boosting and AdaBoost fit small trees: each iteration is cheap.
    "HistGradientBoostingClassifier": {"max_iter": 5_000},
    "HistGradientBoostingRegressor": {"max_iter": 5_000},
    "AdaBoostClassifier": {"n_estimators": 5_000},
    "AdaBoostRegressor": {"n_estimators": 5_000},
    "GradientBoostingClassifier": {"n_estimators": 5_000},
    "GradientBoostingRegressor": {"n_estimators": 5_000},
    # Each bagged estimator may be any model, e.g. an SVM.
    "BaggingClassifier": {"n_estimators": 500},
    "BaggingRegressor": {"n_estimators": 500},
    # An epoch of a neural network passes every row through every layer.
    "MLPClassifier": {"max_iter": 2_000},
    "MLPRegressor": {"max_iter": 2_000},
}
# hidden_layer_sizes (MLPClassifier, MLPRegressor): at most this many layers of at most this many units each;
# [100000, 100000, 100000] would be 2·10^10 weights (160 GB).
MAX_HIDDEN_LAYERS = 10
MAX_LAYER_UNITS = 1_024


def param_maxima(estimator: type) -> dict[str, int]:
    """The bounded parameters of `estimator` (a class) and their maxima, from the tables above."""
    return {**PARAM_MAXIMA, **ESTIMATOR_MAXIMA.get(estimator.__name__, {})}


def param_problem(estimator: type, name: str, value) -> str | None:
    """Why `value` is too large for parameter `name` of `estimator`, or None. Values that are not numbers (a
    "${inputs.x}" reference, "auto") are left to the checks that understand them."""
    short_name = estimator.__name__
    if name == "hidden_layer_sizes":
        return _layers_problem(short_name, value)
    maximum = param_maxima(estimator).get(name)
    if maximum is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value > maximum:
        return f"{name} {_shown(value)} is above the most {short_name} allows, {maximum:,}"
    return None


def _layers_problem(short_name: str, value) -> str | None:
    layers = [value] if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(layers, list | tuple):
        return None
    if len(layers) > MAX_HIDDEN_LAYERS:
        return f"hidden_layer_sizes has {len(layers)} layers; {short_name} allows at most {MAX_HIDDEN_LAYERS}"
    for units in layers:
        if isinstance(units, int | float) and not isinstance(units, bool) and units > MAX_LAYER_UNITS:
            return (
                f"hidden_layer_sizes asks for a layer of {_shown(units)} units; {short_name} allows at most "
                f"{MAX_LAYER_UNITS:,} per layer"
            )
    return None


def _shown(number) -> str:
    if isinstance(number, int) and number.bit_length() > 64:
        # Never formatted whole: Python refuses to write out integers of more than 4,300 digits.
        return f"of about {int(number.bit_length() * 0.30103):,} digits"
    return f"{number:,}" if isinstance(number, int) else f"{number:g}"


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
