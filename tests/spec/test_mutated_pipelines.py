"""Whatever is changed in a valid pipeline, the answer is a spec or plain-sentence errors, never a crash."""

import copy

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_app.spec import SpecInvalid, parse_pipeline

from .files import CONTRACT_PIPELINE, DEMO_CONTEXT

BASE = yaml.safe_load(CONTRACT_PIPELINE)
REPLACEMENTS = [
    None,
    0,
    -1,
    2.5,
    True,
    "",
    " ",
    "x",
    "${steps.fit.x}",
    "${inputs.n}",
    [],
    ["a"],
    [1],
    {},
    {"a": 1},
    {"name": "z", "type": "evaluate"},
    "sklearn.tree.Nope",
    "0 25 * * *",
    10**30,
    "a@b.c",
    "group:x",
]
PYDANTIC_WORDS = ("Input should", "model_type", "pydantic", "errors.pydantic.dev", "Value error", "Field required")


def all_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from all_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from all_paths(item, (*path, index))


@st.composite
def mutated_pipelines(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from([path for path in all_paths(data) if path]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    return yaml.safe_dump(data, sort_keys=False)


@settings(max_examples=150, deadline=None)
@given(mutated_pipelines(), st.booleans())
def test_a_mutated_pipeline_gives_a_spec_or_plain_errors(text, with_context):
    try:
        parse_pipeline(text, DEMO_CONTEXT if with_context else None)
    except SpecInvalid as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.line >= 1 and error.column >= 1
            assert not any(word in error.message for word in PYDANTIC_WORDS), error
