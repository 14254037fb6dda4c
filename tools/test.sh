#!/usr/bin/env bash
# README command 2: install everything, then run every check (lint, types, import contracts, tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/nox --no-venv -s ci "$@"
