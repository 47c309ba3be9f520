"""One module per stack kind: access, bastion, cluster, peering, federation."""
