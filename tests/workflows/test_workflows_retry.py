"""Which failed attempts the steps' retry expression retries, given what Argo puts in
`lastRetry.*` for each kind of failure (`buildRetryStrategyLocalScope` and `inferFailedReason`,
workflow/controller/operator.go, v4.0.5 and v4.0.10)."""

from __future__ import annotations

import pytest

from tests.argo_sim.interpreter import evaluate_retry_expression
from xetra_etl.workflows.retry import retry_expression

EVICTED = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. "
    "Container main was using 2Gi, request is 1Gi, has larger consumption of memory. "
)
CASES = [
    # (exitCode, status, message, retried)
    ("75", "Failed", "main: Error (exit code 75): source read timed out; retry", True),
    ("65", "Failed", "main: Error (exit code 65): column StartPrice: not a number", False),
    ("66", "Failed", "main: Error (exit code 66): staged object missing", False),
    ("70", "Failed", "main: Error (exit code 70): unexpected error", False),
    ("78", "Failed", "main: Error (exit code 78): config: source.uri missing", False),
    ("0", "Error", "wait: Error (exit code 1): failed to put archive: connection refused", True),
    ("-1", "Error", "init: Error (exit code 1): failed to copy argoexec", True),
    ("-1", "Error", "pod deleted", True),
    ("137", "Failed", EVICTED, True),
    ("137", "Failed", "The node had condition: [DiskPressure]. ", True),
    ("143", "Failed", "Pod was terminated in response to imminent node shutdown.", True),
    ("137", "Failed", "Preempted in order to admit critical pod", True),
    ("137", "Failed", "main: OOMKilled (exit code 137)", False),
    ("137", "Failed", "main: Error (exit code 137)", False),
    ("65", "Error", "wait: Error (exit code 1): lost the store", False),
    ("1", "Failed", "main: Error (exit code 1): The node was low on resource", False),
]


@pytest.mark.parametrize(("code", "status", "message", "retried"), CASES)
def test_retry_expression_retries_only_what_a_fresh_pod_can_fix_when_an_attempt_failed(
    code: str, status: str, message: str, retried: bool
) -> None:
    scope = {
        "lastRetry.exitCode": code,
        "lastRetry.status": status,
        "lastRetry.message": message,
        "retries": "0",
    }
    assert evaluate_retry_expression(retry_expression(), scope) is retried
