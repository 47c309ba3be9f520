"""Python Lambda code bundled on this machine: no Docker, and dependencies installed once per
requirements hash, not on every synth.

`python_lambda_code(LambdaSource(package, modules))` returns Lambda code made of the runtime package (every file
under its folder but requirements.txt and caches), the listed modules it imports from outside it, and the
`__init__.py` of every enclosing package, all at their package paths (so `handler` strings and tests name the same
modules), plus the packages of the runtime's `requirements.txt`, installed for the Lambda platform (`pip --platform manylinux2014_x86_64
--only-binary=:all: --no-deps`: the requirements file is the whole pinned closure). Installed packages
are cached in `.build/lambda-deps/<hash>`; `make setup` fills the cache so that synth needs no network,
and a synth only links the cached files into the asset. The asset hash is computed here from the
sources, the requirements and the platform, so the template changes exactly when the code does.

Run as a module (`python -m components.lambda_bundling REQUIREMENTS...`) to fill the cache for those files.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

RUNTIME = lambda_.Runtime.PYTHON_3_14
PYTHON_VERSION = "3.14"
PLATFORM = "manylinux2014_x86_64"
ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".build" / "lambda-deps"
# Parts of dependencies a Lambda never imports (kubernetes.aio alone is half the client).
PRUNE = ("kubernetes/aio", "bin")
_SKIP = ("__pycache__", ".pyc", "requirements.txt")


@dataclass(frozen=True)
class LambdaSource:
    """A Lambda's runtime code inside this repository."""

    package: str
    """Dotted name of the runtime package (a folder with `__init__.py` and `requirements.txt`)."""
    modules: tuple[str, ...] = ()
    """Dotted names of the modules outside the package that it imports (leaf modules, standard library only)."""
    packages: tuple[str, ...] = ()
    """Dotted names of whole packages outside it that it imports (shared runtime code: their `.py` files, no
    requirements of their own)."""
    root: Path = ROOT

    @property
    def requirements(self) -> Path:
        return self.root / self.package.replace(".", "/") / "requirements.txt"

    def files(self) -> list[Path]:
        """Every file of the asset's code, relative to `root`: the package's files, the modules, and the
        `__init__.py` of each enclosing package."""
        found = set()
        for package in (self.package, *self.packages):
            package_dir = self.root / package.replace(".", "/")
            found |= {p.relative_to(self.root) for p in package_dir.rglob("*")
                      if p.is_file() and not any(s in p.name or s in p.parts for s in _SKIP)
                      and (package == self.package or p.suffix == ".py")}
        for dotted in (self.package, *self.packages, *self.modules):
            parts = dotted.split(".")
            if dotted in self.modules:
                found.add(Path(*parts[:-1], parts[-1] + ".py"))
            for depth in range(1, len(parts)):
                found.add(Path(*parts[:depth], "__init__.py"))
        return sorted(found)


def dependencies_hash(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{PLATFORM}|{PYTHON_VERSION}|{','.join(PRUNE)}".encode())
    return digest.hexdigest()[:20]


def code_hash(source: LambdaSource) -> str:
    digest = hashlib.sha256(dependencies_hash(source.requirements).encode())
    for rel in source.files():
        digest.update(rel.as_posix().encode() + b"\0" + (source.root / rel).read_bytes() + b"\0")
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
    def __init__(self, source: LambdaSource) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *args, **kwargs) -> bool:  # options unused: nothing runs in Docker
        out = Path(output_dir)
        _link_tree(dependencies_dir(self._source.requirements), out)
        for rel in self._source.files():
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self._source.root / rel, dest)
        return True


def python_lambda_code(source: LambdaSource) -> lambda_.Code:
    # The asset path only names the folder CDK would stage; the local bundling writes the actual content.
    return lambda_.Code.from_asset(
        str(source.root / source.package.replace(".", "/")),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=code_hash(source),
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=_LocalBundling(source)),
    )


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(dependencies_dir(Path(arg)))
