"""The checks of a validate_data step. Each check is one small mapping and does one thing:

{row_count_min: 500}            {row_count_max: 100000}
{missing_fraction_max: 0.05}    {missing_fraction_max: 0.2, column: income}
{column: age, min: 18, max: 100}
{column: housing, allowed: [own, rent]}
{column: id, not_null: true}    {column: id, unique: true}
"""

from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator, model_serializer, model_validator

from .errors import describe
from .fields import STRICT, NonBlank, Number, spec_problem

KNOWN_CHECKS = (
    "row_count_min, row_count_max, missing_fraction_max (of the whole table or one column), "
    "column with min and/or max, column with allowed, column with not_null: true, column with unique: true"
)
# Which key makes a check of which kind; min and max together make one range check.
_KIND_OF_KEY = {
    "row_count_min": "row_count_min",
    "row_count_max": "row_count_max",
    "missing_fraction_max": "missing_fraction_max",
    "min": "range",
    "max": "range",
    "allowed": "allowed",
    "not_null": "not_null",
    "unique": "unique",
}
_NEEDS_COLUMN = {"range", "allowed", "not_null", "unique"}
_NO_COLUMN = {"row_count_min", "row_count_max"}


class DataCheck(BaseModel):
    """One data check; `kind` says which. Absent keys are left out of the stored JSON."""

    model_config = STRICT
    unknown_key_hint: ClassVar[str] = f"Known checks: {KNOWN_CHECKS}"

    row_count_min: int | None = Field(default=None, ge=0)
    row_count_max: int | None = Field(default=None, ge=0)
    missing_fraction_max: float | None = Field(default=None, ge=0, le=1)
    column: NonBlank | None = None
    min: Number | None = None
    max: Number | None = None
    allowed: list[Any] | None = Field(default=None, min_length=1)
    not_null: bool | None = None
    unique: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _is_mapping(cls, value):
        if not isinstance(value, dict | DataCheck):
            raise spec_problem(
                f"a check is a mapping such as {{row_count_min: 500}}, not {describe(value)}; "
                f"known checks: {KNOWN_CHECKS}"
            )
        return value

    @field_validator("allowed")
    @classmethod
    def _plain_values(cls, values):
        for index, value in enumerate(values or []):
            if isinstance(value, list | dict) or value is None:
                raise spec_problem(f"allowed values are plain values, not {describe(value)}", at=(index,))
        return values

    @property
    def kind(self) -> str:
        """row_count_min, row_count_max, missing_fraction_max, range, allowed, not_null or unique."""
        return next(_KIND_OF_KEY[key] for key in _KIND_OF_KEY if getattr(self, key) is not None)

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = list(dict.fromkeys(_KIND_OF_KEY[key] for key in _KIND_OF_KEY if getattr(self, key) is not None))
        if not kinds:
            raise spec_problem(f"this check does not say what to check; known checks: {KNOWN_CHECKS}")
        if len(kinds) > 1:
            raise spec_problem(f"this check mixes {kinds[0]} and {kinds[1]}; write each check as its own item")
        kind = kinds[0]
        if kind in _NEEDS_COLUMN and self.column is None:
            raise spec_problem(f"a {kind} check needs 'column', the column it checks")
        if kind in _NO_COLUMN and self.column is not None:
            raise spec_problem(f"{kind} counts the rows of the whole table; remove 'column'", at=("column",), key=True)
        if kind == "range" and self.min is not None and self.max is not None and self.min > self.max:
            raise spec_problem(f"min {self.min:g} is greater than max {self.max:g}", at=("min",))
        for flag in ("not_null", "unique"):
            if getattr(self, flag) is False:
                raise spec_problem(f"'{flag}: false' checks nothing; write true or remove the check", at=(flag,))
        return self

    @model_serializer(mode="wrap")
    def _without_absent_keys(self, handler):
        return {key: value for key, value in handler(self).items() if value is not None}
