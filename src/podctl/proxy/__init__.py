"""The Service data plane, placed where Kubernetes places it: in system pods.

rules    pure: Services and their endpoints → an iptables-restore payload of one home's
         own chains (kube-proxy's iptables design), and the payload that removes them
apply    runs those payloads with `docker exec` in the home's kube-proxy container
         (hostNetwork), plus the host settings the rules need
dns      pure: the dnsmasq configuration of the cluster DNS; and writing it into the
         home's DNS container through Docker's archive API
"""
