"""``threatintel.allow_networks``: the feed fetcher's SSRF allow-list, validated at load."""

from pathlib import Path

import pytest

from sentinel_infrastructure.config import ConfigError, load_config

BASE = "agent:\n  interfaces: [eth0]\nthreatintel:\n"


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + text)
    return load_config(path, environ={})


def test_allow_networks_default_empty_and_accept_networks_and_addresses(tmp_path: Path) -> None:
    assert load(tmp_path, "  enabled: true\n").config.threatintel.allow_networks == []  # type: ignore[attr-defined]
    loaded = load(tmp_path, "  allow_networks: [127.0.0.0/8, '10.1.2.3', 'fd00::/8']\n")
    assert loaded.config.threatintel.allow_networks == ["127.0.0.0/8", "10.1.2.3", "fd00::/8"]  # type: ignore[attr-defined]


def test_a_bad_network_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "  allow_networks: [127.0.0.0/8, not-a-net]\n")
    assert "threatintel.allow_networks[1]" in str(info.value) and "not-a-net" in str(info.value)
