"""`podctl port-forward`: local listeners relaying TCP to a pod's IP, following the pod by name.

ports    the arguments, parsed and worded as kubectl parses them
plan     the arguments checked in kubectl's order, into what to forward
target   which pod a forward reaches now (a pod by name, or a replica of an RC)
events   Docker's sandbox deaths, so a forward drops a dead pod's IP at once
relay    the data plane: bytes both ways between two sockets with splice(2)
forward  the control plane: listeners, accepting, connecting, following, stopping
"""
