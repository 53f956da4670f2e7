"""The Kubernetes REST API served from podctl's own store (`run-controller --api`), so the
real kubectl and client libraries work against a Docker engine.

Layout: `routes` is the one routing table (resources, subresources, discovery); `objects`
holds the verbs (get, list, create, update, patch, delete) as plain functions on the store;
`watch` turns store changes into watch events; `server` runs aiohttp in a thread with the
bearer-token check and TLS; `credentials` keeps the token and certificates in $PODCTL_HOME.
Everything aiohttp-specific stays in `routes` and `server`, imported only when serving.
"""
