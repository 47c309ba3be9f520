"""The federation without CDK: `model` (what a federation is), `plan` (what gets built), `config` (reading and
checking cdk.json into the model) and `operations` (operator tools), each importing only the packages before it."""
