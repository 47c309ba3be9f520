"""The Karmada join: a custom resource and its Lambda (karmada_join.py, contract.py, runtime/)."""
