"""What gets built from the model: topology, network layouts, stacks and their order, workload objects, deploy
time. Pure functions; imports only `federated_eks.model` below it."""
