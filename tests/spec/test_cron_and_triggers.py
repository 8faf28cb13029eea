"""Triggers, and the cron expressions of schedule triggers."""

import pytest

from pipelines_app.spec import CronError, parse_cron, parse_pipeline

from .files import at, one_problem, steps_file


def with_triggers(*triggers: str) -> str:
    """Triggers on lines 5 onwards, each starting at column 5."""
    header = "version: 1\nname: p\nmodel: m\ntriggers:\n" + "".join(f"  - {trigger}\n" for trigger in triggers)
    return steps_file("{name: a, type: notify}", header=header)


def test_cron_fields_are_expanded():
    schedule = parse_cron("*/15 9-17 1,15 JAN-mar mon-FRI")

    assert schedule.minutes == {0, 15, 30, 45}
    assert schedule.hours == set(range(9, 18))
    assert schedule.days_of_month == {1, 15}
    assert schedule.months == {1, 2, 3}
    assert schedule.days_of_week == {1, 2, 3, 4, 5}


def test_cron_sunday_is_zero_or_seven():
    assert parse_cron("0 0 * * 7").days_of_week == {0}
    assert parse_cron("0 0 * * 5-7").days_of_week == {5, 6, 0}


def test_cron_gives_crontab_fields_with_numbers_only():
    fields = parse_cron("0 3 * * MON").as_crontab_fields()

    assert fields == {"minute": "0", "hour": "3", "day_of_month": "*", "month_of_year": "*", "day_of_week": "1"}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 25 * * *", 'cron "0 25 * * *": hour 25 is out of range 0-23'),
        ("60 * * * *", 'cron "60 * * * *": minute 60 is out of range 0-59'),
        ("0 0 0 * *", 'cron "0 0 0 * *": day of month 0 is out of range 1-31'),
        ("0 0 * 13 *", 'cron "0 0 * 13 *": month 13 is out of range 1-12'),
        ("0 0 * * 8", 'cron "0 0 * * 8": day of week 8 is out of range 0-7'),
        ("* * *", 'cron "* * *": expected 5 fields (minute hour day-of-month month day-of-week), got 3'),
        ("*/0 * * * *", 'cron "*/0 * * * *": minute step 0 must be at least 1'),
        ("30-10 * * * *", 'cron "30-10 * * * *": minute range 30-10 runs backwards; write the smaller value first'),
        ("0 0 * FOO *", "cron \"0 0 * FOO *\": month 'FOO' is not a number or a month name (JAN-DEC)"),
        ("0 0 * * FUN", "cron \"0 0 * * FUN\": day of week 'FUN' is not a number or a weekday name (SUN-SAT)"),
        ("1,,2 * * * *", "cron \"1,,2 * * * *\": minute '1,,2' has an empty item between commas"),
        ("5/15 * * * *", "cron \"5/15 * * * *\": minute '5/15' needs a range or '*' before the step"),
        ("@daily", 'cron "@daily": shortcuts like @daily are not supported'),
        ("? * * * *", "cron \"? * * * *\": minute '?' is not a number"),
    ],
)
def test_bad_cron_expressions_say_which_field_is_wrong(expression, message):
    with pytest.raises(CronError) as raised:
        parse_cron(expression)

    assert str(raised.value).startswith(message)


def test_a_bad_cron_is_reported_at_its_value():
    error = one_problem(with_triggers('{type: schedule, cron: "0 25 * * *"}'))

    assert at(error) == (5, 28)
    assert error.message == 'cron "0 25 * * *": hour 25 is out of range 0-23'
    assert error.path == "triggers[0].cron"


def test_a_schedule_trigger_needs_cron():
    error = one_problem(with_triggers("{type: schedule}"))

    assert at(error) == (5, 5)
    assert "a schedule trigger needs 'cron'" in error.message


def test_cron_on_another_trigger_is_reported_at_the_key():
    error = one_problem(with_triggers('{type: webhook, cron: "* * * * *"}'))

    assert at(error) == (5, 21)
    assert error.message == "cron only applies to schedule triggers, not webhook"


def test_unknown_trigger_type_suggests_the_known_one():
    error = one_problem(with_triggers("{type: webhok}"))

    assert at(error) == (5, 12)
    assert error.message == (
        "unknown type 'webhok' in trigger 1; expected manual, schedule, webhook or drift; did you mean 'webhook'?"
    )


def test_a_trigger_must_be_a_mapping():
    error = one_problem(with_triggers("manual"))

    assert at(error) == (5, 5)
    assert error.message == "trigger 1 must be a mapping of keys and values, not 'manual'"


def test_all_trigger_types_are_accepted():
    spec = parse_pipeline(
        with_triggers("{type: manual}", '{type: schedule, cron: "0 3 * * 1"}', "{type: webhook}", "{type: drift}")
    )

    assert [trigger.type for trigger in spec.triggers] == ["manual", "schedule", "webhook", "drift"]
    assert spec.triggers[1].schedule().as_crontab_fields()["day_of_week"] == "1"
