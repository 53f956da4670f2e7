"""The kubelet's job: sync pods with Docker, compute their status, probe and restart."""
