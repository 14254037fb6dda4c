"""A full alert store never stops the agent: with a 1 MiB LMDB map and a ping flood, alerts keep
flowing, the oldest are evicted (reported once), detection and the API carry on.

    root netns                          lab netns
    [agent] XDP on host_if  <== veth ==>  peer_if  (raw SYN burst: thousands of denied packets)
"""

import urllib.request
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until
from _traffic import send_syns

from sentinel_agent.lab import VethLab

BODY = """firewall:
  mode: block
  rules:
    - {{id: deny-peer, priority: 10, action: deny, src_ip: "{peer}/32"}}
audit:
  map_size_mib: 1
alerting:
  enabled: false
  channel_capacity: 20000  # the flood must not crowd the storage-full alert out of the log
dlp:
  enabled: false
"""


def test_alerts_keep_flowing_when_the_store_is_full(tmp_path: Path) -> None:
    with VethLab(prefix="full") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(lab.host_if, port, BODY.format(peer=lab.peer_ip), data_dir=tmp_path / "d")
        )
        with AgentProcess(config, port, tmp_path / "agent.log") as agent:
            sent = 6000
            send_syns(lab, sent, 9999)

            def store_full_reported() -> bool:
                return any("storage full" in r.get("event", "") for r in agent.records())

            assert wait_until(store_full_reported, timeout=20)
            assert len([e for e in agent.records() if "storage full" in e.get("event", "")]) == 1  # once
            # ... and raised as one alert of its own
            assert wait_until(lambda: any(a.get("rule_id") == "storage-full" for a in agent.records()), 10)
            assert len([a for a in agent.records() if a.get("rule_id") == "storage-full"]) == 1
            totals: list[int] = []

            def settled() -> bool:  # the recorder has written its backlog
                totals.append(agent.get("/api/v1/alerts?limit=1")[1]["total"])
                return len(totals) >= 3 and totals[-1] == totals[-2] == totals[-3]

            assert wait_until(settled, timeout=30, step=0.5)
            assert 0 < totals[-1] < sent  # bounded by the map, oldest evicted
            # Detection and storage still work after eviction: a new alert is stored and newest.
            newest_before = agent.get("/api/v1/alerts?limit=1")[1]["alerts"][0]["timestamp_ns"]

            # A write that still finds no room after its eviction retries is dropped and counted
            # (lmdb_env); under load that can hit one alert, so a few pings are allowed.
            def newer_stored() -> bool:
                newest = agent.get("/api/v1/alerts?limit=1")[1]["alerts"][0]
                return bool(newest["timestamp_ns"] > newest_before)

            stored = False
            for _ in range(5):
                assert lab.ping_from_peer(lab.host_ip, count=1) == 0
                if wait_until(newer_stored, timeout=4):
                    stored = True
                    break
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                storage = [line for line in resp.read().decode().splitlines() if "alert_store" in line]
            assert stored, "no new alert stored after eviction:\n" + "\n".join(storage)
            assert agent.get("/readyz")[0] == 200
