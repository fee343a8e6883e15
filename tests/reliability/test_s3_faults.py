"""Transient S3 faults: botocore's retries absorb them; persistent ones fail a date with 75."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Place
from tests.faultproxy import FaultPlan, fault_proxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Short socket timeouts, so an injected "timeout" fault costs a second, not thirty.
RETRY_ENV = {
    "AWS_MAX_ATTEMPTS": "10",
    "XETRA_S3_READ_TIMEOUT": "1",
    "XETRA_S3_CONNECT_TIMEOUT": "1",
}


def test_run_through_a_faulty_proxy_gives_the_clean_report(s3_place: Place) -> None:
    plan = FaultPlan(rate=0.15, timeout_seconds=1.5, seed=7)
    assert s3_place.endpoint_url
    with fault_proxy(s3_place.endpoint_url, plan) as proxy:
        s3_place.env = {**s3_place.env, "AWS_ENDPOINT_URL": proxy, **RETRY_ENV}
        report = s3_place.run()
    assert report["exit_code"] == 0, report["stderr"][-3000:]
    assert all(plan.counts[kind] > 0 for kind in ("500", "503", "reset", "timeout")), plan.counts
    s3_place.env["AWS_ENDPOINT_URL"] = s3_place.endpoint_url
    assert s3_place.report_rows() == s3_place.expected_rows()


def test_persistent_faults_fail_the_date_with_75_and_the_next_run_redoes_it(
    s3_place: Place,
) -> None:
    plan = FaultPlan(kinds=("503",), only_paths_containing="2021-03-10/")
    assert s3_place.endpoint_url
    with fault_proxy(s3_place.endpoint_url, plan) as proxy:
        s3_place.env = {**s3_place.env, "AWS_ENDPOINT_URL": proxy, "AWS_MAX_ATTEMPTS": "3"}
        report = s3_place.run()
    assert report["exit_code"] == 75, report["stderr"][-3000:]
    failed = {d["date"]: d for d in report["dates"] if d["state"] != "done"}
    assert set(failed) == {"2021-03-10"}
    assert failed["2021-03-10"]["exit_code"] == 75
    s3_place.env["AWS_ENDPOINT_URL"] = s3_place.endpoint_url
    again = s3_place.run()
    assert again["exit_code"] == 0
    assert {d["date"] for d in again["dates"] if d["state"] == "done"} == {"2021-03-10"}
    assert s3_place.report_rows() == s3_place.expected_rows()
