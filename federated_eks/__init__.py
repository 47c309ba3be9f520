"""Pure model of a federation: the validated config and the topology math (no CDK imports)."""
