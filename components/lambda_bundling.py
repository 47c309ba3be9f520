"""Python Lambda code bundled on this machine: no Docker, and dependencies installed once per
requirements hash, not on every synth.

`python_lambda_code(source_dir)` returns Lambda code made of `source_dir/*.py` plus the packages of
`source_dir/requirements.txt`, installed for the Lambda platform (`pip --platform manylinux2014_x86_64
--only-binary=:all: --no-deps`: the requirements file is the whole pinned closure). Installed packages
are cached in `.build/lambda-deps/<hash>`; `make setup` fills the cache so that synth needs no network,
and a synth only links the cached files into the asset. The asset hash is computed here from the
sources, the requirements and the platform, so the template changes exactly when the code does.

Run as a module (`python -m components.lambda_bundling DIR`) to fill the cache for DIR.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

RUNTIME = lambda_.Runtime.PYTHON_3_14
PYTHON_VERSION = "3.14"
PLATFORM = "manylinux2014_x86_64"
CACHE_DIR = Path(__file__).resolve().parents[1] / ".build" / "lambda-deps"
# Parts of dependencies a Lambda never imports (kubernetes.aio alone is half the client).
PRUNE = ("kubernetes/aio", "bin")
_SKIP = ("__pycache__", ".pyc", "requirements.txt")


def _sources(source_dir: Path) -> list[Path]:
    return sorted(p for p in source_dir.rglob("*") if p.is_file() and not any(s in str(p) for s in _SKIP))


def dependencies_hash(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{PLATFORM}|{PYTHON_VERSION}|{','.join(PRUNE)}".encode())
    return digest.hexdigest()[:20]


def code_hash(source_dir: Path) -> str:
    digest = hashlib.sha256(dependencies_hash(source_dir / "requirements.txt").encode())
    for path in _sources(source_dir):
        digest.update(str(path.relative_to(source_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def dependencies_dir(requirements: Path) -> Path:
    """The installed dependencies for `requirements`, installing them (once) if not cached yet."""
    target = CACHE_DIR / dependencies_hash(requirements)
    if (target / ".complete").exists():
        return target
    staging = CACHE_DIR / f".staging-{target.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-qq", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--platform", PLATFORM, "--python-version", PYTHON_VERSION, "--implementation", "cp",
         "--target", str(staging), "-r", str(requirements)],
        check=True)
    for rel in PRUNE:
        shutil.rmtree(staging / rel, ignore_errors=True)
    for cache in staging.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (fast, no extra disk) or copy when the output is on another file system."""
    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)
    shutil.copytree(src, dst, copy_function=link, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".complete"))


@jsii.implements(cdk.ILocalBundling)
class _LocalBundling:
    def __init__(self, source_dir: Path) -> None:
        self._source_dir = source_dir

    def try_bundle(self, output_dir: str, *args, **kwargs) -> bool:  # options unused: nothing runs in Docker
        out = Path(output_dir)
        _link_tree(dependencies_dir(self._source_dir / "requirements.txt"), out)
        for path in _sources(self._source_dir):
            dest = out / path.relative_to(self._source_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        return True


def python_lambda_code(source_dir: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=code_hash(source_dir),
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=_LocalBundling(source_dir)),
    )


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(dependencies_dir(Path(arg) / "requirements.txt"))
