"""The end-to-end lab as fixtures: namespaces, veth pairs and routes (``_lab.Lab``), removed when
the module ends whatever happened; the agent itself is started by each module with its own config
(``_lab.Agent``, stopped by SIGTERM at the end, killed if it does not stop).

Each module sets ``LAB_PREFIX`` (≤ 4 characters) so its interface names are recognisable.
"""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _lab import Lab  # noqa: E402


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """Attacker and sink namespaces around the root namespace (see ``_lab``), for one module."""
    with Lab(getattr(request.module, "LAB_PREFIX", "e2e")) as subject:
        yield subject
