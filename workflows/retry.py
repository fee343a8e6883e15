"""Which failed attempts of a step Argo retries: the `retryStrategy.expression` of every step.

The controller evaluates the expression after an attempt failed (`processNodeRetries`,
workflow/controller/operator.go, v4.0.5 and v4.0.10 alike) over the last attempt's
`lastRetry.exitCode` (the main container's exit code, "-1" when it has none),
`lastRetry.status` (Failed or Error) and `lastRetry.message` (`buildRetryStrategyLocalScope`;
the names in workflow/common/common.go). The node phase and message come from
`inferFailedReason` (operator.go): a pod message set by Kubernetes wins (an eviction: Failed with
"The node was low on resource: memory. ..."); else init or wait failing gives Error, main failing
Failed with "main: <reason> (exit code N): <termination message>".

A retry runs a fresh pod with the same input, so only what a fresh pod can fix is retried:
- exit 75: a transient failure of ours (network, throttling, a held lock);
- an Error attempt: init or wait failed (e.g. the wait container lost the artifact store), the
  pod could not start, or it was deleted (node loss: the pod is deleted, "pod deleted");
- a pod Kubernetes ended for reasons of the node, told apart by the message the kubelet sets
  on the pod, which no error line of ours starts with: node-pressure eviction
  ("The node was low on resource: ...", "The node had condition: ...",
  pkg/kubelet/eviction/helpers.go), graceful node shutdown
  ("Pod was terminated in response to imminent node shutdown.",
  pkg/kubelet/nodeshutdown) and preemption by a critical pod ("Preempted in order to admit
  critical pod", pkg/kubelet/preemption).
Never retried, whatever the phase: 65 (bad data), 66 (missing input), 70 (a bug), 78 (bad
config). Nor an OOM kill of the step's own container ("main: OOMKilled (exit code 137)"): a
step's memory follows from its date's input, so a fresh pod with the same limit is killed again;
the date fails at once and notify tells the user to raise the step's memory limit.
"""

from __future__ import annotations

from xetra_etl.common.infra.errors import ExitCode

NEVER_RETRIED = (ExitCode.DATA, ExitCode.NO_INPUT, ExitCode.SOFTWARE, ExitCode.CONFIG)

# Messages the kubelet sets on a pod it ends for reasons of the node (prefixes).
NODE_MESSAGES = (
    "The node was low on resource",
    "The node had condition",
    "Pod was terminated in response to imminent node shutdown",
    "Preempted in order to admit critical pod",
)

# What Argo writes for a main container the kernel killed at its memory limit.
OOM_KILLED = "OOMKilled"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def retry_expression() -> str:
    """The expr-lang expression every step template carries."""
    never = ", ".join(str(int(code)) for code in NEVER_RETRIED)
    node_ended = " || ".join(
        f"lastRetry.message startsWith {_quoted(prefix)}" for prefix in NODE_MESSAGES
    )
    return (
        f"!(asInt(lastRetry.exitCode) in [{never}]) && ("
        f"asInt(lastRetry.exitCode) == {int(ExitCode.TEMPORARY)}"
        ' || lastRetry.status == "Error"'
        f" || {node_ended})"
    )
