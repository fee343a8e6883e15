"""Pure domain logic: no I/O, no boto3, no YAML, no environment."""
