"""What the step commands share: the composition root that wires real adapters and maps errors to
exit codes (`entry`), and the local runner behind `xetra-etl run` (`localrun`).
"""
