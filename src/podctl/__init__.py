"""podctl: Kubernetes v1 Pods and ReplicationControllers on a plain Docker engine."""

__version__ = "0.1.0"
