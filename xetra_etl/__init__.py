"""xetra-etl as one package: `xetra_etl.common`, `xetra_etl.steps` and `xetra_etl.workflows`.

In the repository the three are links to the folders of the same names beside this one; a built
wheel holds real copies, so nothing named `common`, `steps` or `workflows` reaches site-packages.
"""
