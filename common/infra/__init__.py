"""Infrastructure every layer but the domain may use: the error tree with exit codes, typed config,
logging, names, crash points, process tuning and the Kubernetes termination message.
"""
