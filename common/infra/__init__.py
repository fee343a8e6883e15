"""Infrastructure beside the layers: the error tree with exit codes, typed config, logging, names,
crash points, process tuning and the Kubernetes termination message (README, Layout, says where
it stands in the layer order).
"""
