"""Thin entry points, one per step; `steps.cli` gathers them under `xetra-etl`."""
