"""merge's decision for one planned date: done or failed, from its date record alone."""

from __future__ import annotations

import datetime as dt

from xetra_etl.common.app.merge import DateOutcome, date_outcome
from xetra_etl.common.domain.jobcontrol import DateRecord, State

DAY = dt.date(2024, 3, 4)
PLANNED_AT = "2024-03-05T10:00:00+00:00"


def _record(state: State, **fields: object) -> DateRecord:
    return DateRecord(DAY, state, "fp", "inputs", **fields)  # type: ignore[arg-type]


def test_a_date_this_run_finished_is_done_with_its_rows_and_duration() -> None:
    record = _record(
        State.DONE, row_count=12, duration_seconds=1.5, run_id="r1", processed_at="2024-01-01"
    )
    assert date_outcome(DAY, "new", record, "r1", PLANNED_AT) == DateOutcome(
        "2024-03-04", "done", "new", 12, 1.5
    )


def test_a_date_another_run_finished_after_the_plan_is_done() -> None:
    record = _record(State.DONE, row_count=3, run_id="other", processed_at="2024-03-05T11:00:00")
    assert date_outcome(DAY, "changed", record, "r1", PLANNED_AT).state == "done"


def test_a_date_done_before_the_plan_by_another_run_was_not_processed_in_this_run() -> None:
    record = _record(State.DONE, row_count=3, run_id="other", processed_at="2024-03-01T00:00:00")
    outcome = date_outcome(DAY, "retry", record, "r1", PLANNED_AT)
    assert outcome == DateOutcome(
        "2024-03-04", "failed", "retry", 0, 0.0, "not processed in this run", 0
    )


def test_a_failed_record_gives_its_error_and_exit_code() -> None:
    record = _record(State.FAILED, run_id="r1", error="bad row 7", exit_code=65)
    assert date_outcome(DAY, "new", record, "r1", PLANNED_AT) == DateOutcome(
        "2024-03-04", "failed", "new", 0, 0.0, "bad row 7", 65
    )


def test_a_failed_record_without_an_error_says_the_date_was_not_processed() -> None:
    record = _record(State.FAILED, run_id="r1", exit_code=75)
    outcome = date_outcome(DAY, "new", record, "r1", PLANNED_AT)
    assert (outcome.error, outcome.exit_code) == ("not processed in this run", 75)


def test_a_date_without_a_record_was_not_processed_in_this_run() -> None:
    assert date_outcome(DAY, "new", None, "r1", PLANNED_AT) == DateOutcome(
        "2024-03-04", "failed", "new", 0, 0.0, "not processed in this run", 0
    )
