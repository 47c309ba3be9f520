"""The emulated Kubernetes API servers, for the join handler tests: they live in the rehearsal
(rehearsal/kubernetes/), which `make rehearse` runs; re-exported here under the name the tests use."""
from rehearsal.kubernetes.apiserver import (  # noqa: F401 (re-exports)
    ApiServerHandle, EmulatedApiServer, EmulatedDns, EmulatorLoop, Fault, TestCA, eks_hostname, make_test_ca)
from rehearsal.kubernetes.kubefed_controller import FTC_FINALIZER, KubefedControllerState  # noqa: F401
