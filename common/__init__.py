"""Shared library of the Xetra ETL: domain, application, adapters and infrastructure."""
