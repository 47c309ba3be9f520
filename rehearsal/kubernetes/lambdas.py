"""The packaged join Lambda, invoked as AWS would, in virtual time: `Custom::KubefedJoin`, `Custom::KubefedTeardown`
and `Custom::FederatedWorkload`.

`serve` plays what aws-cdk-lib's Provider framework (custom-resources/lib/provider-framework, 2.275) does with a
CloudFormation request, against the emulated API servers:
- runtime/framework.js `onEvent`: the user's onEvent function gets CloudFormation's request (RequestType,
  ResourceType, ResourceProperties, OldResourceProperties, PhysicalResourceId, ...); its answer is merged over the
  request (`createResponseEvent`: a Create without a PhysicalResourceId gets the RequestId; a Delete may not change
  it);
- waiter-state-machine.js: the isComplete task is invoked at once, then retried every `queryInterval`
  (`Retry: States.ALL, BackoffRate 1`) `totalTimeout / queryInterval` times (util.js `calculateRetryPolicy`), then
  caught by onTimeout, which answers FAILED with the reason "Operation timed out";
- runtime/framework.js `isComplete`: a result with IsComplete false and Data is an error; a complete one merges its
  Data over the onEvent Data;
- runtime/cfn-response.js `safeHandler`: any error of a user function answers FAILED with its message (plus
  framework.js `invokeUserFunction`'s "Logs: /aws/lambda/<function>" line); a failed Create answers with the marker
  physical id, and the Delete CloudFormation then sends for it is answered SUCCESS without calling anything.

Each invocation runs the code of the function's asset folder (the handler string, imported from the unzipped asset,
not from this repository), with exactly the function's environment (plus what the Lambda runtime sets), a Lambda
context whose remaining time counts down in virtual time, and a clock that is virtual for the code's `time`. Between
polls the clock advances by the query interval and the emulated controllers run a round.

The function reaches an EKS API endpoint only while `network.reachable(function.source, cluster)` is true, checked on
every connection: an unreachable endpoint behaves as a security group that drops the packets does, a connect
timeout (the client's connect timeout is spent in virtual time); a name that no cluster has does not resolve; no
other host is reachable (nothing leaves the machine).
"""
from __future__ import annotations

from typing import Protocol

from rehearsal.world import Clock, CustomResourceRequest, CustomResourceResult, Network

RESOURCE_TYPES = ("Custom::KubefedJoin", "Custom::KubefedTeardown", "Custom::FederatedWorkload")


class Servers(Protocol):
    """What `serve` needs from the emulated clusters (rehearsal/kubernetes/apiserver.py provides it)."""

    def resolve(self, hostname: str) -> tuple[str, tuple[str, int]] | None:
        """(EKS cluster name, local address its emulated API server listens on) for an API endpoint host name;
        None when no cluster has that name (it does not resolve)."""
        ...

    def controllers_round(self, clock: Clock) -> None:
        """Every emulated controller of every cluster (token, namespace, KubeFed) runs one whole round at
        `clock.now`."""
        ...


def serve(request: CustomResourceRequest, clock: Clock, network: Network, servers: Servers) -> CustomResourceResult:
    """Serve one `Custom::KubefedJoin`, `Custom::KubefedTeardown` or `Custom::FederatedWorkload` request to the end,
    as the Provider framework does (see the module docstring), advancing `clock`. Raises world.RehearsalFailure with
    the Provider's reason when the resource fails (a handler error, or "Operation timed out")."""
    raise NotImplementedError
