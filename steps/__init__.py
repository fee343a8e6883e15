"""Thin entry points, one per step; `xetra_etl.steps.cli` gathers them under `xetra-etl`.

Importing this package changes nothing in the process; the data entry points call
`xetra_etl.common.infra.tuning.tune_data_process()` themselves.
"""
