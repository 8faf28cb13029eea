"""The estimator of a train step: only scikit-learn estimator classes, with did-you-mean for near misses."""

import pytest

from pipelines_app.spec import validate_pipeline
from pipelines_app.spec.estimators import EstimatorError, load_estimator

from .files import at, column_of, one_problem, steps_file


def train_step(estimator: str, extra: str = "") -> str:
    return f"{{name: fit, type: train, target: y, estimator: {estimator}{extra}}}"


def test_a_misspelt_class_suggests_the_one_in_that_module():
    step = train_step("sklearn.ensemble.RandomForrestClassifier")

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "sklearn"))
    assert error.message == (
        "'sklearn.ensemble' has no estimator 'RandomForrestClassifier'; "
        "did you mean 'sklearn.ensemble.RandomForestClassifier'?"
    )
    assert error.path == "stages[0].steps[0].estimator"


def test_a_class_in_the_wrong_module_suggests_where_it_lives():
    with pytest.raises(EstimatorError, match=r"did you mean 'sklearn\.linear_model\.LogisticRegression'\?"):
        load_estimator("sklearn.ensemble.LogisticRegression")


def test_a_misspelt_module_suggests_the_module():
    with pytest.raises(
        EstimatorError, match=r"no estimator module 'sklearn\.ensembel'; did you mean 'sklearn\.ensemble'"
    ):
        load_estimator("sklearn.ensembel.RandomForestClassifier")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("os.system", "is not a scikit-learn class"),
        ("builtins.eval", "is not a scikit-learn class"),
        ("sklearn", "is not a scikit-learn class"),
        ("sklearn.tests.test_base.T", "is not written as 'sklearn.<module>.<Class>'"),
        ("sklearn.ensemble.__builtins__", "has no estimator '__builtins__'"),
        ("sklearn.metrics.roc_auc_score", "'sklearn.metrics' holds no estimators"),
        ("sklearn.preprocessing.StandardScaler", "does not predict"),
        ("sklearn.ensemble.BaseEnsemble", "does not predict"),
    ],
)
def test_nothing_but_a_predicting_sklearn_estimator_can_be_named(path, words):
    with pytest.raises(EstimatorError, match=words.replace(".", r"\.").replace("(", r"\(")):
        load_estimator(path)


def test_known_estimators_load():
    assert (
        load_estimator("sklearn.ensemble.HistGradientBoostingClassifier").__name__ == "HistGradientBoostingClassifier"
    )
    assert load_estimator("sklearn.linear_model.Ridge").__name__ == "Ridge"


def test_params_must_be_parameters_of_the_estimator():
    step = train_step("sklearn.linear_model.LogisticRegression", ", params: {C: 1.0, max_iters: 5}")

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "max_iters"))
    assert error.message == "LogisticRegression has no parameter 'max_iters'; did you mean 'max_iter'?"
    assert error.path == "stages[0].steps[0].params.max_iters"


def test_params_may_take_inputs():
    header = "version: 1\nname: p\nmodel: m\ninputs:\n  n: {type: integer, default: 100}\n"
    step = train_step("sklearn.ensemble.RandomForestClassifier", ", params: {n_estimators: '${inputs.n}'}")

    assert validate_pipeline(steps_file(step, header=header)) == []
