"""Hot reload on a live agent: SIGHUP, file watch and REST; invalid configs change nothing.

root netns                          lab netns
[agent] XDP on host_if  <== veth ==>  peer_if  (pings tell which rule set is live)
"""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _agent import AgentProcess, agent_yaml, free_port, wait_until

from sentinel_agent.lab import VethLab

DENY_PEER = """firewall:
  mode: block
  rules:
    - {{id: deny-peer, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
"""
ALLOW_ALL = "firewall:\n  mode: block\n"


@pytest.fixture
def lab() -> Iterator[VethLab]:
    with VethLab(prefix="rld") as lab:
        yield lab


def write_atomically(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over the original."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def pings_pass(lab: VethLab) -> bool:
    return lab.ping_from_peer(lab.host_ip, count=1) == 1


def test_sighup_applies_a_valid_change_and_keeps_the_old_one_on_errors(lab: VethLab, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.yaml"
    base = agent_yaml(lab.host_if, port)
    config.write_text(base + ALLOW_ALL)
    with AgentProcess(config, port, tmp_path / "agent.log") as agent:
        assert pings_pass(lab)
        config.write_text(base + DENY_PEER.format(peer=lab.peer_ip))
        agent.signal(signal.SIGHUP)
        assert wait_until(lambda: not pings_pass(lab), timeout=10)

        config.write_text(base + "firewall:\n  rules: [ {id: broken\n")  # invalid YAML
        agent.signal(signal.SIGHUP)
        assert wait_until(
            lambda: agent.events("configuration reload rejected; the running configuration is kept")
        )
        assert not pings_pass(lab)  # the deny rule is still enforced
        assert agent.get("/readyz")[0] == 200


def test_a_sighup_storm_coalesces_without_leaking(lab: VethLab, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.yaml"
    base = agent_yaml(lab.host_if, port)
    config.write_text(base + DENY_PEER.format(peer=lab.peer_ip))
    with AgentProcess(config, port, tmp_path / "agent.log") as agent:
        time.sleep(1)  # let the file watcher settle before counting descriptors
        fds_before = agent.open_fds()
        config.write_text(base + ALLOW_ALL)  # the last configuration must win
        deadline = time.monotonic() + 2
        for _ in range(200):
            agent.signal(signal.SIGHUP)
            time.sleep(max(0.0, (deadline - time.monotonic()) / 200))
        assert wait_until(lambda: pings_pass(lab), timeout=10)
        reloads = agent.events("configuration reloaded")
        assert 1 <= len(reloads) < 200  # coalesced
        assert agent.proc.poll() is None  # one process, still running
        assert wait_until(lambda: agent.open_fds() == fds_before, timeout=5), (fds_before, agent.open_fds())


def test_file_watch_and_rest_reload(lab: VethLab, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.yaml"
    base = agent_yaml(lab.host_if, port)
    config.write_text(base + ALLOW_ALL)
    with AgentProcess(config, port, tmp_path / "agent.log") as agent:
        write_atomically(config, base + DENY_PEER.format(peer=lab.peer_ip))  # no signal: the watcher
        assert wait_until(lambda: not pings_pass(lab), timeout=10)

        config.write_text(base + ALLOW_ALL)
        status, body = agent.request("POST", "/api/v1/config/reload")
        assert status == 200 and body["status"] in ("ok", "pending")
        assert wait_until(lambda: pings_pass(lab), timeout=10)

        config.write_text(base + "firewall:\n  mode: maybe\n")
        status, body = agent.request("POST", "/api/v1/config/reload")
        assert status == 400
        assert body["error"]["code"] == "INVALID_CONFIG"
        assert "firewall.mode" in body["error"]["message"]
        assert pings_pass(lab)  # unchanged


def test_editing_a_referenced_rules_file_triggers_a_reload(lab: VethLab, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.yaml"
    rules = tmp_path / "local.rules"
    rules.write_text('alert tcp any any -> any 7001 (msg:"first"; content:"aaa"; sid:1;)\n')
    config.write_text(
        agent_yaml(lab.host_if, port, "ids:\n  rules_files: [local.rules]\ndlp:\n  enabled: false\n")
    )
    with AgentProcess(config, port, tmp_path / "agent.log") as agent:
        before = len(agent.events("configuration reloaded"))
        write_atomically(rules, 'alert tcp any any -> any 7002 (msg:"second"; content:"bbb"; sid:2;)\n')
        assert wait_until(lambda: len(agent.events("configuration reloaded")) > before, timeout=10)


def bpf_objects_held(agent: AgentProcess) -> dict[str, int]:
    """The agent's descriptors by kind: BPF maps, BPF programs, and everything else."""
    counts = {"bpf-map": 0, "bpf-prog": 0, "other": 0}
    fd_dir = Path(f"/proc/{agent.proc.pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we listed
            continue
        kind = target.removeprefix("anon_inode:")
        counts[kind if kind in counts else "other"] += 1
    return counts


RELOADS = 1000


def test_a_thousand_reloads_leak_no_descriptor_map_or_program(lab: VethLab, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.yaml"
    # IDS and DLP are off: recompiling their matchers 1,000 times takes minutes. What runs is the
    # kernel side of a reload (firewall generations, rate limit, blocklist, DNS, threat intel).
    base = agent_yaml(lab.host_if, port, "ids:\n  enabled: false\ndlp:\n  enabled: false\n")
    configs = (base + ALLOW_ALL, base + DENY_PEER.format(peer=lab.peer_ip))
    config.write_text(configs[0])
    with AgentProcess(config, port, tmp_path / "agent.log") as agent:
        time.sleep(1)  # let the file watcher settle before counting descriptors
        before = bpf_objects_held(agent)
        assert before["bpf-map"] > 0 and before["bpf-prog"] > 0
        completed = 0
        for index in range(RELOADS):  # alternate the two rule sets; each reload is waited for
            config.write_text(configs[(index + 1) % 2])
            status, body = agent.request("POST", "/api/v1/config/reload")
            assert status == 200, body
            completed += body["status"] == "ok"
        assert completed >= RELOADS * 0.9  # nearly all finished within the endpoint's wait
        config.write_text(configs[0])  # end on "allow all" and check it is the one enforced
        assert agent.request("POST", "/api/v1/config/reload")[0] == 200
        assert wait_until(lambda: pings_pass(lab), timeout=10)
        assert wait_until(lambda: bpf_objects_held(agent) == before, timeout=10), (
            before,
            bpf_objects_held(agent),
        )
        assert agent.proc.poll() is None
