"""Shared test set-up. Privileged tests need root and the real kernel: CI runs as root."""

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if any(f"/tests/{kind}/" in path for kind in ("bpf", "integration", "e2e")):
            item.add_marker(pytest.mark.privileged)


@pytest.fixture(autouse=True)
def _require_root_for_privileged(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("privileged") and os.geteuid() != 0:
        pytest.fail("this test needs root (BPF and network namespaces); run the suite as root")
