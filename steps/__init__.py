"""Thin entry points, one per step; `steps.cli` gathers them under `xetra-etl`.

Importing this package changes nothing in the process; the data entry points call
`common.infra.tuning.tune_data_process()` themselves.
"""
