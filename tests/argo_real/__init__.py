"""The real-Argo tier: Argo v4.0.5 and Kubernetes v1.36.3 built from Go, run on one machine."""
