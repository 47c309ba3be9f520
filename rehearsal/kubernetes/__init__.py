"""The Kubernetes side of the rehearsal: `EmulatedKubernetes` (clusters.py) implements world.Kubernetes.

Exported lazily, so that importing one module of the package (the API server, for the join tests) does not import
the rest."""


def __getattr__(name: str):
    if name == "EmulatedKubernetes":
        from .clusters import EmulatedKubernetes
        return EmulatedKubernetes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
