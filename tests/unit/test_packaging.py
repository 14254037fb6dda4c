"""Packaging: the Kubernetes DaemonSet (offline schema + semantics), the systemd unit, install.sh.

The schema under packaging/kubernetes/schema/ is a hand-written, strict subset of the upstream
Kubernetes definitions (see its description); nothing here touches the network.
"""

import configparser
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from sentinel_infrastructure.config import load_config

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
DAEMONSET = PACKAGING / "kubernetes" / "daemonset.yaml"
SCHEMA = PACKAGING / "kubernetes" / "schema" / "k8s-subset.json"
UNIT = PACKAGING / "systemd" / "ebpfsentinel.service"
INSTALL = ROOT / "tools" / "install.sh"
# What the agent needs (docs/operations.md "Capabilities"); unit and DaemonSet must agree.
CAPABILITIES = {"BPF", "NET_ADMIN", "PERFMON", "SYS_ADMIN", "SYS_RESOURCE"}


def documents() -> dict[str, dict[str, Any]]:
    docs = list(YAML(typ="safe").load_all(DAEMONSET.read_text()))
    return {d["kind"]: d for d in docs}


def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_every_manifest_validates_against_the_committed_schema() -> None:
    docs = documents()
    assert set(docs) == {"ConfigMap", "DaemonSet"}
    for doc in docs.values():
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator().iter_errors(doc)]
        assert errors == []


@pytest.mark.parametrize(
    ("where", "change"),
    [
        (("spec", "template", "spec"), {"hostNetwrok": True}),  # a typo is an unknown field
        (("spec", "template", "spec", "containers", 0, "securityContext"), {"privileged": "yes"}),
        (("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet"), {"port": 8.5}),
        (("spec",), {"updateStrategy": {"type": "Sometimes"}}),
    ],
)
def test_the_schema_rejects_broken_manifests(where: tuple[Any, ...], change: dict[str, Any]) -> None:
    doc = documents()["DaemonSet"]
    node = doc
    for key in where:
        node = node[key]
    node.update(change)
    assert not validator().is_valid(doc)


def _walk(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [(k, v) for k, v in node.items()] + [kv for v in node.values() for kv in _walk(v)]
    if isinstance(node, list):
        return [kv for v in node for kv in _walk(v)]
    return []


def test_daemonset_semantics(tmp_path: Path) -> None:
    docs = documents()
    pod = docs["DaemonSet"]["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert all(v is not True for k, v in _walk(docs["DaemonSet"]) if k == "privileged")
    assert "hostPID" not in pod
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(security["capabilities"]["add"]) == CAPABILITIES
    # The ConfigMap's config is a valid agent configuration; probes hit its health paths.
    config_path = tmp_path / "config.yaml"
    config_path.write_text(docs["ConfigMap"]["data"]["config.yaml"])
    config_path.chmod(0o600)
    agent = load_config(config_path).config.agent
    probes = {name: container[name]["httpGet"] for name in ("livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert probe["port"] == agent.http_port
        assert probe["host"] == agent.bind_address  # loopback: reachable over the host network only
    # Volumes: config from the ConfigMap, state on the node, no bpffs or debugfs/tracefs.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert volumes["config"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    assert mounts["config"] == "/etc/ebpfsentinel"
    assert volumes["data"]["hostPath"]["path"] == mounts["data"] == agent.data_dir
    host_paths = {v["hostPath"]["path"] for v in volumes.values() if "hostPath" in v}
    assert not host_paths & {"/sys/fs/bpf", "/sys/kernel/debug", "/sys/kernel/tracing"}


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_unit_sections_and_keys() -> None:
    unit = _unit()
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert (
        service["ExecStart"]
        == "/opt/ebpfsentinel/venv/bin/ebpfsentinel-agent -c /etc/ebpfsentinel/config.yaml"
    )
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert {c.removeprefix("CAP_") for c in service["CapabilityBoundingSet"].split()} == CAPABILITIES
    assert service["StateDirectory"] == "ebpfsentinel"
    assert "bpf" in service["SystemCallFilter"].split() and "perf_event_open" in service["SystemCallFilter"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that the executables exist: point them at this checkout's agent.
    agent = str(Path(sys.executable).parent / "ebpfsentinel-agent")
    text = UNIT.read_text().replace("/opt/ebpfsentinel/venv/bin/ebpfsentinel-agent", agent)
    copy = tmp_path / "ebpfsentinel.service"
    copy.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "ebpfsentinel" in line]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


def test_example_config_is_valid(tmp_path: Path) -> None:
    copy = tmp_path / "config.yaml"
    shutil.copy(PACKAGING / "config.example.yaml", copy)
    assert load_config(copy).config.agent.interfaces == ["eth0"]


def _install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_install_sh_parses_and_dry_runs_into_a_temp_prefix(tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(INSTALL)], check=False).returncode == 0
    root = tmp_path / "root"
    result = _install("--dry-run", "--root", str(root), "--prefix", "/srv/sentinel")
    assert result.returncode == 0, result.stderr
    assert not root.exists()  # a dry run changes nothing
    out = result.stdout
    assert f"{root}/srv/sentinel/venv" in out
    assert f"{root}/etc/systemd/system/ebpfsentinel.service" in out
    assert f"{root}/etc/ebpfsentinel/config.yaml" in out
    assert "systemctl" not in out  # staged: never touches the host's systemd
    assert "dry run: nothing was changed" in out
    assert _install("--bogus").returncode == 1


def test_install_sh_is_idempotent_and_keeps_the_config(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = _install("--skip-venv", "--root", str(root), "--prefix", "/srv/sentinel")
    assert first.returncode == 0, first.stderr
    unit = (root / "etc/systemd/system/ebpfsentinel.service").read_text()
    assert "ExecStart=/srv/sentinel/venv/bin/ebpfsentinel-agent -c /etc/ebpfsentinel/config.yaml" in unit
    assert "/opt/ebpfsentinel" not in unit
    config = root / "etc/ebpfsentinel/config.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "var/lib/ebpfsentinel").stat().st_mode) == 0o700
    assert (root / "srv/sentinel/docs/operations.md").is_file()
    config.write_text(config.read_text() + "# edited by the operator\n")
    second = _install("--skip-venv", "--root", str(root), "--prefix", "/srv/sentinel")
    assert second.returncode == 0, second.stderr
    assert "keeping the existing" in second.stdout
    assert config.read_text().endswith("# edited by the operator\n")
    assert (root / "etc/systemd/system/ebpfsentinel.service").read_text() == unit
    assert os.listdir(root / "etc/systemd/system") == ["ebpfsentinel.service"]
