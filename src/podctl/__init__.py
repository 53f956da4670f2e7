"""podctl: Kubernetes manifests on a plain Docker engine, with kubectl's commands and the
Kubernetes API, and no cluster."""

__version__ = "0.1.0"
