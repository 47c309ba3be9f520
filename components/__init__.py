"""Reusable constructs, one concept per file (the design card's `constructs/` folder; that name would
shadow the `constructs` library that aws-cdk-lib imports)."""
