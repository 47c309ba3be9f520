"""The workload waiter Lambda's runtime: the Provider framework's entry points (`workload_wait.on_event`,
`is_complete`) and the pure decisions they use (`workload_state`). Imports only the standard library, its pinned
requirements (requirements.txt), botocore (from the Lambda runtime), `..contract` and components/kube_access/;
never CDK or the app."""
