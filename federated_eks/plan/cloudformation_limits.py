"""CloudFormation's fixed limits per stack (AWS CloudFormation User Guide, "Understand CloudFormation quotas"; not
adjustable), stated once: the layouts (peering_layout, federation_layout), the config check (quotas.py) and the
check of the synthesized templates (app.py, `template_problems`) all use these numbers."""
from __future__ import annotations

MAX_RESOURCES = 500  # aws-cdk-lib also enforces it at synth (core/lib/stack.js, MAX_RESOURCES = 500)
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
# The template body CloudFormation takes from S3 (where the CDK puts every template over 51,200 bytes): 1 MB. Its
# error reads "Template may not exceed 1000000 bytes in size", so a megabyte is counted as 1,000,000 bytes.
MAX_TEMPLATE_BYTES = 1_000_000
# The CDK CLI adds an AWS::CDK::Metadata resource to each template (version reporting), so one stays free.
RESOURCE_BUDGET = MAX_RESOURCES - 1


def template_problems(stack: str, template_bytes: int, resources: int, outputs: int = 0) -> list[str]:
    """What a synthesized template `stack` of this size passes, each with the fix (empty when it fits)."""
    out = []
    if template_bytes > MAX_TEMPLATE_BYTES:
        out.append(f"stack {stack}: its template is {template_bytes:,} bytes, over CloudFormation's limit of "
                   f"{MAX_TEMPLATE_BYTES:,} bytes (1 MB, not adjustable). Fix: carry fewer or smaller Kubernetes "
                   "objects in the federation (manifest folders, workloads); large data belongs in an image or S3, "
                   "not in ConfigMaps")
    if resources > RESOURCE_BUDGET:
        out.append(f"stack {stack}: {resources} resources (and the CDK's metadata resource), over CloudFormation's "
                   f"limit of {MAX_RESOURCES} per stack (not adjustable). Fix: fewer clusters or workloads")
    if outputs > MAX_OUTPUTS:
        out.append(f"stack {stack}: {outputs} outputs, over CloudFormation's limit of {MAX_OUTPUTS} per stack "
                   "(not adjustable). Fix: fewer clusters")
    return out
