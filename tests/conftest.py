"""Shared test set-up: import paths for the app and the join Lambda."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "lambda" / "kubefed_join"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
