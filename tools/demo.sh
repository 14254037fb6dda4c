#!/usr/bin/env bash
# README command 1: install everything, then run the built-in demo lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/ebpfsentinel-agent demo "$@"
