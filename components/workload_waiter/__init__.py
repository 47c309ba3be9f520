"""The workload waiter custom resource: its construct (`workload_waiter.py`), its Lambda runtime (`runtime/`), and
the contract both sides import (`contract.py`). Deliberately empty: the runtime is packaged with this file, and
importing the runtime must never import CDK."""
