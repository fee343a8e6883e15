"""What the step commands share: the composition root that wires real adapters and maps errors to
exit codes (`entry`), the local runner behind `xetra-etl run` (`localrun`) and the scheduler that
feeds its worker threads (`scheduler`).
"""
