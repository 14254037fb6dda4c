"""CachedConfigLoader: one parse per distinct set of inputs."""

import os
from pathlib import Path

import pytest

from sentinel_infrastructure.config import ConfigError, load_config
from sentinel_infrastructure.config.reloading import CachedConfigLoader

BASE = "agent:\n  interfaces: [lo]\n"


def loader(path: Path, environ: dict[str, str]) -> CachedConfigLoader:
    return CachedConfigLoader(path, lambda: load_config(path, environ=environ), environ)


def test_unchanged_inputs_are_parsed_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE)
    cached = loader(path, {})
    first, second = cached(), cached()
    assert first is second and cached.parses == 1


def test_a_changed_file_rules_file_or_environment_is_parsed_again(tmp_path: Path) -> None:
    path, rules = tmp_path / "c.yaml", tmp_path / "local.rules"
    rules.write_text('alert tcp any any -> any 80 (msg:"x"; content:"a"; sid:1;)\n')
    path.write_text(BASE + "ids:\n  enabled: true\n  rules_files: [local.rules]\n")
    environ: dict[str, str] = {}
    cached = loader(path, environ)
    assert len(cached().detection.signatures) == 1  # type: ignore[union-attr]
    rules.write_text(rules.read_text() + 'alert tcp any any -> any 81 (msg:"y"; content:"b"; sid:2;)\n')
    assert len(cached().detection.signatures) == 2  # type: ignore[union-attr]
    path.write_text(path.read_text() + "firewall:\n  default_policy: drop\n")
    assert cached().config.firewall.default_policy == "drop"
    environ["EBPFSENTINEL_AGENT__HTTP_PORT"] = "9999"
    assert cached().config.agent.http_port == 9999
    assert cached.parses == 4


def test_an_invalid_file_is_reported_every_time_and_not_remembered(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE)
    cached = loader(path, {})
    cached()
    path.write_text("agent: [")
    for _ in range(2):
        with pytest.raises(ConfigError):
            cached()
    os.chmod(path, 0o600)
    path.write_text(BASE)
    assert cached().config.agent.interfaces == ["lo"]


def test_a_fifo_named_as_the_config_is_refused_without_hanging(tmp_path: Path) -> None:
    # The fingerprint reads the file like the loader does: a FIFO with no writer must not block.
    path = tmp_path / "c.yaml"
    os.mkfifo(path)
    cached = loader(path, {})
    with pytest.raises(ConfigError, match="not a regular file"):
        cached()
