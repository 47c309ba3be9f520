"""`make rehearse`: a synthesized environment played the way CloudFormation deploys and destroys it, offline.

`python -m rehearsal --env NAME` synthesizes, then plays; `--assembly DIR` plays a cloud assembly. The seam between
the CloudFormation side (cloudformation.py, intrinsics.py, aws.py, network.py) and the Kubernetes side
(kubernetes/) is world.py.
"""
