"""The host changes under a running agent: its config file vanishes, one of its interfaces vanishes.

    lab A netns ── veth A ──┐
                            ├── [agent] XDP on both (deny ICMP from each peer)
    lab B netns ── veth B ──┘   config file watched

* Config deleted: the agent keeps the running configuration (still enforcing), says so in its
  log, and applies the file again once it is recreated.
* Interface B deleted while attached: the agent reports itself degraded (``/readyz`` 503 and
  ``/api/v1/ebpf/status`` name the interface) and keeps enforcing on interface A.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _lab import Agent, agent_yaml, count_arrivals, free_port, send_syns, wait_until

from sentinel_agent.lab import VethLab, run

pytestmark = pytest.mark.privileged

LEAN = "ids: {enabled: false}\nthreatintel: {enabled: false}\ndns: {enabled: false}\ndlp: {enabled: false}\n"
RULES = """firewall:
  mode: block
  rules:
    - {{id: deny-a, priority: 10, action: deny, protocol: icmp, src_ip: "{a}/32"}}
    - {{id: deny-b, priority: 11, action: deny, protocol: icmp, src_ip: "{b}/32"}}
{more}"""
SYN_RULE = (
    '    - {{id: deny-syn, priority: 12, action: deny, protocol: tcp, dst_port: 7777, src_ip: "{a}/32"}}\n'
)


@dataclass
class Host:
    a: VethLab
    b: VethLab
    config: Path
    head: str
    agent: Agent

    def text(self, more: str = "") -> str:
        return self.head + RULES.format(
            a=self.a.peer_ip, b=self.b.peer_ip, more=more.format(a=self.a.peer_ip)
        )


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("host")
    first = VethLab(prefix="fha")
    with first as a, VethLab(prefix="fhb", subnet=first.subnet % 250 + 1) as b:
        port = free_port()
        head = agent_yaml(f"{a.host_if}, {b.host_if}", port, LEAN, data_dir=tmp / "data")
        config = tmp / "agent.yaml"
        config.write_text(head + RULES.format(a=a.peer_ip, b=b.peer_ip, more=""))
        with Agent(config, port, tmp / "agent.log") as agent:
            yield Host(a, b, config, head, agent)


def denied(lab: VethLab) -> bool:
    return lab.ping_from_peer(lab.host_ip, count=1) == 0


def syns_dropped(lab: VethLab) -> bool:
    seen, _ = count_arrivals(lab.host_if, 7777, lambda: send_syns(lab, 5, 7777))
    return bool(seen == 0)


def test_a_deleted_config_keeps_the_running_rules_until_it_is_recreated(host: Host) -> None:
    assert denied(host.a) and denied(host.b) and not syns_dropped(host.a)
    os.unlink(host.config)
    assert wait_until(
        lambda: host.agent.events("configuration reload rejected; the running configuration is kept"),
        timeout=15,
    )
    (rejected,) = host.agent.events("configuration reload rejected; the running configuration is kept")
    assert str(host.config) in rejected["error"] or "agent.yaml" in rejected["error"]
    assert host.agent.proc.poll() is None and host.agent.get("/readyz")[0] == 200
    assert denied(host.a) and denied(host.b)  # the old rules still hold
    host.config.write_text(host.text(SYN_RULE))  # recreated, with one more rule
    assert wait_until(lambda: host.agent.events("configuration reloaded"), timeout=15)
    assert wait_until(lambda: syns_dropped(host.a), timeout=10)
    assert denied(host.a) and denied(host.b)


def test_a_deleted_interface_degrades_the_agent_which_keeps_enforcing_elsewhere(host: Host) -> None:
    assert host.agent.get("/readyz")[0] == 200
    run("ip", "link", "del", host.b.host_if)

    def degraded() -> bool:
        status, body = host.agent.get("/readyz")
        return status == 503 and any(host.b.host_if in entry for entry in body.get("attach_blocked", []))

    assert wait_until(degraded, timeout=15)
    status, body = host.agent.get("/api/v1/ebpf/status")
    assert status == 200
    assert any(entry["interface"] == host.b.host_if for entry in body["attach_blocked"])
    assert not any(entry["interface"] == host.a.host_if for entry in body["attach_blocked"])
    assert denied(host.a) and syns_dropped(host.a)  # interface A is still enforced
    assert host.agent.proc.poll() is None
