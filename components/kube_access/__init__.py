"""Talking to a cluster's API server from a Lambda, shared by the KubeFed join and the workload waiter: EKS token
authentication and clients (`kube_api`), the clusters a function serves (`allowed_clusters`), a cluster as a request
names it (`cluster_ref`), what a delete left behind (`left_behind`), and what the constructs and the functions agree
on (`contract`). Packaged into each of those Lambdas at this package path; imports only the standard library and the
Lambdas' requirements, never CDK or the app."""
