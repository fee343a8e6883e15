"""Argo manifests for the Xetra ETL, written with Hera, and the operations that apply and run them.

This package renders YAML and talks to the Argo server; it imports no step code (a test enforces
it), only the shared names in `common.infra.naming`, so the manifests and the images agree on step,
console script and image names without either side importing the other.
"""
