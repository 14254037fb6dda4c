"""The agent end to end on a veth lab with real packets.

    root netns                          lab netns
    [agent] -- XDP on host_if  <== veth ==>  peer_if  (ping v4 + v6 from here)

The agent denies ICMP from the peer's IPv4 address in block mode; IPv6 pings must still pass.
"""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel_agent.lab import VethLab

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def kernel_counters(interface: str) -> dict[str, int]:
    """Read fw_metrics of the program attached to ``interface`` with bpftool, from outside the agent."""
    link = json.loads(
        subprocess.run(
            ["ip", "-j", "link", "show", interface], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    prog_id = link["xdp"]["prog"]["id"]
    prog = json.loads(
        subprocess.run(
            ["bpftool", "prog", "show", "id", str(prog_id), "-j"], capture_output=True, text=True, check=True
        ).stdout
    )
    for map_id in prog["map_ids"]:
        info = json.loads(
            subprocess.run(
                ["bpftool", "map", "show", "id", str(map_id), "-j"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        if info["name"] == "fw_metrics":
            dump = json.loads(
                subprocess.run(
                    ["bpftool", "map", "dump", "id", str(map_id), "-j"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            names = ["passed", "dropped", "errors", "events_dropped", "seen"]
            totals = {}
            for entry in dump:
                slot = (
                    entry.get("formatted", entry)["key"]
                    if "formatted" in entry
                    else int.from_bytes(bytes(int(b, 16) for b in entry["key"]), "little")
                )
                values = entry.get("formatted", entry)["values"]
                total = sum(
                    v["value"]
                    if isinstance(v["value"], int)
                    else int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little")
                    for v in values
                )
                if slot < len(names):
                    totals[names[slot]] = total
            return totals
    raise AssertionError("fw_metrics not found")


@pytest.fixture
def lab() -> Iterator[VethLab]:
    with VethLab() as lab:
        yield lab


def test_agent_drops_denied_pings_and_reports_them(lab: VethLab, tmp_path: Path) -> None:
    http_port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(f"""
agent:
  interfaces: [{lab.host_if}]
  http_port: {http_port}
  grpc_port: {free_port()}
  metrics_port: {free_port()}
  data_dir: {tmp_path}
firewall:
  mode: block
  default_policy: pass
  rules:
    - id: deny-peer-icmp
      priority: 10
      action: deny
      protocol: icmp
      src_ip: {lab.peer_ip}
""")
    log = (tmp_path / "agent.log").open("w+")
    agent = subprocess.Popen([AGENT, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http_get(f"http://127.0.0.1:{http_port}/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert http_get(f"http://127.0.0.1:{http_port}/healthz") == (200, {"status": "ok"})
        assert http_get(f"http://127.0.0.1:{http_port}/readyz") == (
            200,
            {"status": "ready", "ebpf_loaded": True},
        )

        before = kernel_counters(lab.host_if)
        assert lab.ping_from_peer(lab.host_ip, count=3) == 0, "denied IPv4 pings got replies"
        assert lab.ping_from_peer(lab.host_ip6, count=3) == 3, "allowed IPv6 pings were lost"
        after = kernel_counters(lab.host_if)
        delta = {k: after[k] - before[k] for k in after}
        assert delta["dropped"] == 3
        assert delta["errors"] == 0
        assert delta["seen"] == delta["passed"] + delta["dropped"]
        assert delta["passed"] >= 3  # the IPv6 echo requests (plus neighbour discovery)

        alerts: list[dict] = []
        deadline = time.monotonic() + 5
        while len(alerts) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            log.seek(0)
            records = map(json.loads, filter(str.strip, log.readlines()))
            # Only the firewall's: the default-enabled DLP probes see every TLS program on the host.
            alerts = [r for r in records if r.get("event") == "alert" and r.get("component") == "firewall"]
        assert len(alerts) == 3
        for alert in alerts:
            assert (alert["src_ip"], alert["dst_ip"]) == (lab.peer_ip, lab.host_ip)
            assert (alert["rule_id"], alert["component"], alert["action"]) == (
                "deny-peer-icmp",
                "firewall",
                "Block",
            )
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=15)
    assert code == 0
    link = subprocess.run(
        ["ip", "link", "show", lab.host_if], capture_output=True, text=True, check=True
    ).stdout
    assert "xdp" not in link
