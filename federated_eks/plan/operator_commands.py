"""The commands and steps federated-eks tells an operator to run, written once.

Every command names its environment: the Makefile's ENV defaults to `dev`, so a `make deploy` copied from the
message about environment `prod` would deploy `dev` (tests/test_operator_commands.py checks every message of the
code for a make command without ENV=). The refusals that several places give (a change of engine: the engine
guard on the host at deploy time and the host guard before CloudFormation; a Karmada host move: the config check and
the host guard) take their text from here, so the steps cannot drift apart.
"""
from __future__ import annotations

ENGINE_NAMES = {"kubefed": "KubeFed", "karmada": "Karmada"}
"""How the messages name each engine of model.federation.ENGINES."""


def make(target: str, env: str, *extra: str) -> str:
    """`make <target> ENV=<env> [extra ...]`, in backticks."""
    return "`" + " ".join(("make", target, f"ENV={env}", *extra)) + "`"


def destroy_stack(env: str, stack: str) -> str:
    """The CDK command that destroys one stack of `env` (the Makefile's destroy would destroy every stack)."""
    return f"`npx cdk destroy {stack} -c env={env}`"


def engine_change(env: str, stack: str, deployed: str, requested: str) -> str:
    """Why a deployed federation of `env` (federation stack `stack`) cannot switch from engine `deployed` to
    `requested` in place, and the steps that do it. `deployed` and `requested` are inserted as given (the engine
    guard passes placeholders it turns into CEL expressions)."""
    return (f"environment {env} runs engine {deployed}; a deployed federation cannot change its engine in place (the "
            f"two would run side by side). Fix: 1) set engine back to {deployed} and run {destroy_stack(env, stack)} "
            f"(unjoins every cluster, removes the control plane and the workloads); 2) set engine {requested} and "
            f"{make('deploy', env)}")


def karmada_host_move(env: str, stack: str, deployed_host: str) -> str:
    """The steps of a Karmada host move (no previousHostCluster: Karmada's state, etcd, lives on a volume of the old
    host and does not move)."""
    return (f"1) with hostCluster {deployed_host!r} (and without previousHostCluster), run "
            f"{destroy_stack(env, stack)} (unjoins every cluster, uninstalls Karmada); 2) set the new hostCluster "
            f"and {make('deploy', env)}")


def cross_region_host_move(env: str, stack: str, deployed_host: str, engine: str, deployed_region: str,
                           new_host: str, new_region: str) -> str:
    """The steps of a host move to another region (the federation stack lives in the host's region)."""
    return (f"1) with hostCluster {deployed_host!r} still set, run {destroy_stack(env, stack)} (unjoins every "
            f"cluster and uninstalls {ENGINE_NAMES[engine]} in {deployed_region}); 2) set hostCluster to "
            f"{new_host!r}, remove previousHostCluster and {make('deploy', env)} (a new federation stack in "
            f"{new_region}); 3) {make('prune', env)} lists what is left")
