"""Every bad-input case gives its documented outcome; the other dates are unaffected."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests import oracle
from tests.badinput.corpus import CASES, Case
from tests.e2e.conftest import Place
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.demo_data import generate
from xetra_etl.common.domain.jobcontrol import DateRecord

pytestmark = pytest.mark.e2e

FIRST = dt.date(2022, 1, 3)  # a Monday
HOUR = "09"


def trading_days(store: LocalStore) -> list[dt.date]:
    days = sorted({dt.date.fromisoformat(info.key[:10]) for info in store.list("")})
    return [d for d in days if d.weekday() < 5]


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("corpus")
    source = LocalStore(tmp / "source", durable=False)
    clean = LocalStore(tmp / "clean", durable=False)
    for store in (source, clean):
        generate(
            store,
            first_date=FIRST,
            days=7 * 8,
            securities_count=10,
            seed=5,
            minute_files_for_last=False,
        )
    days = trading_days(source)
    # One case per date, two trading days apart: with a one-day lookback no case date is
    # another's previous-close input.
    assignment = {case.name: days[2 * i + 1] for i, case in enumerate(CASES)}
    keys = {}
    for case in CASES:
        day = assignment[case.name]
        key = f"{day}/{day}_BINS_XETR{HOUR}.csv"
        assert len(source.get(key).data.split(b"\n")) > 4, f"{key} has too few rows for a case"
        source.put(key, case.corrupt(source.get(key).data))
        keys[case.name] = key
    place = Place("local", str(tmp / "source"), str(tmp / "target"), {}, tmp)
    config = place.write_config(
        pipeline={"first_date": FIRST.isoformat(), "prev_close_lookback_days": 1}
    )
    result = place.cli(
        "run", "--config", str(config), "--last-date", days[-1].isoformat(), "--json"
    )
    report = json.loads(result.stdout)
    return {
        "tmp": tmp,
        "place": place,
        "source": source,
        "clean": clean,
        "assignment": assignment,
        "keys": keys,
        "exit_code": result.returncode,
        "stderr": result.stderr,
        "outcomes": {d["date"]: d for d in report["dates"]},
    }


def expected_rows(run: dict[str, Any], store: LocalStore, day: dt.date) -> list[dict[str, Any]]:
    """The reference rows of `day` computed on `store`'s copy of the date and the day before."""
    mini = LocalStore(run["tmp"] / f"expect-{store.root.name}-{day}", durable=False)
    for folder in (day - dt.timedelta(days=1), day):
        for info in store.list(f"{folder}/"):
            mini.put(info.key, store.get(info.key).data)
    return oracle.report(mini, first=day, last=day, lookback=1)


def rows_of(run: dict[str, Any], day: dt.date) -> list[dict[str, Any]]:
    return [r for r in run["place"].report_rows() if r["date"] == day]


def record_of(run: dict[str, Any], day: dt.date) -> DateRecord:
    path = Path(run["place"].target_uri) / "meta" / "dates" / f"{day}.json"
    return DateRecord.from_json(path.read_bytes())


def test_corpus_has_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15
    assert len({case.name for case in CASES}) == len(CASES)


def test_run_with_bad_input_exits_65(corpus_run: dict[str, Any]) -> None:
    assert corpus_run["exit_code"] == 65, corpus_run["stderr"][-3000:]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_gives_its_documented_outcome(corpus_run: dict[str, Any], case: Case) -> None:
    day = corpus_run["assignment"][case.name]
    outcome = corpus_run["outcomes"][day.isoformat()]
    key = corpus_run["keys"][case.name]
    if case.outcome == "fail":
        assert outcome["state"] == "failed"
        assert outcome["exit_code"] == 65
        error = outcome["error"]
        assert key in error
        line = case.line
        if line == -1:
            line = len(corpus_run["source"].get(key).data.rstrip(b"\n").split(b"\n"))
        assert f"line {line}" in error, error
        if case.column:
            assert f"column {case.column}" in error, error
        assert record_of(corpus_run, day).state == "failed"
        assert rows_of(corpus_run, day) == []
        return
    assert outcome["state"] == "done", outcome
    record = record_of(corpus_run, day)
    if case.outcome == "warn":
        assert any(case.warning in w for w in record.warnings), record.warnings
    harmless = case.outcome == "ok-as-clean" or case.name == "exact-duplicate-row"
    store = corpus_run["clean"] if harmless else corpus_run["source"]
    assert rows_of(corpus_run, day) == expected_rows(corpus_run, store, day)


def test_dates_without_bad_input_are_done(corpus_run: dict[str, Any]) -> None:
    case_days = set(corpus_run["assignment"].values())
    failed_cases = {corpus_run["assignment"][c.name] for c in CASES if c.outcome == "fail"}
    for date, outcome in corpus_run["outcomes"].items():
        day = dt.date.fromisoformat(date)
        if day in case_days:
            continue
        depends_on_failed = any(0 < (day - f).days <= 1 for f in failed_cases)
        assert outcome["state"] == ("failed" if depends_on_failed else "done"), (date, outcome)
