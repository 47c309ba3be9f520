"""The Lambda code that accepts a transit gateway peering attachment (components/transit_gateway.py)."""
