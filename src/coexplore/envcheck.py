"""Lint the conda environment files in ``envs/`` (``python -m coexplore.envcheck envs``).

Conda channels cannot be reached in CI, so ``--use-conda`` is not run there;
this check keeps the files honest: valid YAML, Python and every package
pinned, the runtime dependencies of ``pyproject.toml`` covered, and a
post-deploy script that installs the coexplore package.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml

_NAME = re.compile(r"^([A-Za-z0-9_.-]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_env(path: Path, required: set[str]) -> list[str]:
    """Problems of one environment file (empty list = fine)."""
    problems: list[str] = []
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return [f"{path}: not valid YAML ({exc})"]
    deps = doc.get("dependencies") or []
    if not doc.get("channels"):
        problems.append(f"{path}: no channels")
    conda = [d for d in deps if isinstance(d, str)]
    pip_lists = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    pip = [p for lst in pip_lists for p in lst]
    if not any(d.startswith("python=") for d in conda):
        problems.append(f"{path}: python is not pinned (python=3.x)")
    for d in conda:
        if "=" not in d:
            problems.append(f"{path}: conda package {d!r} is not pinned")
    names = set()
    for p in pip:
        m = _NAME.match(p)
        if not m or "==" not in p:
            problems.append(f"{path}: pip package {p!r} is not pinned with ==")
        if m:
            names.add(_norm(m.group(1)))
    missing = sorted(required - names)
    if missing:
        problems.append(f"{path}: runtime dependencies not installed: {', '.join(missing)}")
    post = path.with_name(path.stem + ".post-deploy.sh")
    if not post.exists() or "pip install" not in post.read_text():
        problems.append(f"{path}: no {post.name} installing the coexplore package")
    return problems


def main(env_dir: str = "envs") -> int:
    root = Path(env_dir).resolve().parent
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    runtime = {_norm(_NAME.match(d).group(1)) for d in deps}
    problems: list[str] = []
    files = sorted(Path(env_dir).glob("*.yaml"))
    if not files:
        problems.append(f"{env_dir}: no environment files")
    for f in files:
        # only the learn environment carries torch
        required = runtime if f.stem == "learn" else runtime - {"torch"}
        problems += check_env(f, required)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"envcheck: {len(files)} environment files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
