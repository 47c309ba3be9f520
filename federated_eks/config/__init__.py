"""Reading and checking a config (cdk.json context) into the model: every rule and message (ConfigError), quotas
included. Imports `federated_eks.model` and `federated_eks.plan` below it."""
