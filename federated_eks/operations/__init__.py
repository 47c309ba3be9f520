"""Operator tools on the AWS side of a federation (prune, orphaned stacks, the lookups synth needs). The top
package: may import config, plan and model."""
