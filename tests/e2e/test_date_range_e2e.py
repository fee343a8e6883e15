"""One rule for the date range of every command: empty or in the future is a usage error (exit 2)
with the same message, before any store is touched."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.conftest import Place

pytestmark = pytest.mark.e2e

TODAY = dt.datetime.now(dt.UTC).date()
NEXT_YEAR = (TODAY + dt.timedelta(days=366)).isoformat()
INVERTED = ("2021-03-10", "2021-03-03")
EMPTY = "the date range is empty: first date 2021-03-10 is after last date 2021-03-03"
FUTURE = f"the date range lies in the future: first date {NEXT_YEAR} is after today"


def range_args(command: str, first: str, last: str | None) -> list[str]:
    if command == "argo backfill":
        return ["argo", "backfill", "--from", first, "--to", last or first]
    args = [*command.split(), "--first-date", first]
    return args if last is None else [*args, "--last-date", last]


def config_args(place: Place, command: str) -> list[str]:
    config = str(place.write_config())
    if command == "discover":
        return ["--config", config, "--dates-out", str(place.tmp / "dates.json")]
    return [] if command.startswith("argo") else ["--config", config]


COMMANDS = ["run", "check", "discover", "status", "argo backfill", "argo submit"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("first", "last", "message"),
    [(*INVERTED, EMPTY), (NEXT_YEAR, None, FUTURE)],
    ids=["inverted", "future"],
)
def test_an_empty_or_future_range_is_a_usage_error_with_one_message_in_every_command(
    local_place: Place, command: str, first: str, last: str | None, message: str
) -> None:
    # No Argo server is reachable here: the range is refused before one is asked.
    env = {"ARGO_SERVER": "127.0.0.1:9"}
    result = local_place.cli(
        *range_args(command, first, last), *config_args(local_place, command), env=env
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout + result.stderr
    assert not (local_place.tmp / "target").exists()  # nothing written, not even a lock
