#!/usr/bin/env bash
# Snakemake runs this inside the freshly created environment: install the
# coexplore package from the workflow's source tree (dependencies come from
# the environment file).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
[ -f "$root/pyproject.toml" ] || root="$(pwd)"
python -m pip install --no-deps --no-build-isolation "$root"
