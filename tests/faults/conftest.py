"""Fault tests: the real agent (a subprocess) under failing sinks, signals, crashes and a changing
host. They reuse the end-to-end lab helpers (``tests/e2e/_lab.py``)."""

import sys
from pathlib import Path

_E2E = str(Path(__file__).resolve().parents[1] / "e2e")
if _E2E not in sys.path:
    sys.path.insert(0, _E2E)
