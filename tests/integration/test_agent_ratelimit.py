"""The agent with firewall + rate limiter on a veth lab: a SYN burst is cut and alerted.

root netns                                  lab netns
[agent] XDP fw -> tail call -> ratelimit  <== veth ==>  raw SYN sender
"""

import json
import signal
import subprocess
import time
from pathlib import Path

from _traffic import count_arrivals, send_syns
from test_walking_skeleton import AGENT, free_port, http_get

from sentinel_agent.lab import VethLab


def test_agent_rate_limits_a_syn_burst_and_raises_ratelimit_alerts(tmp_path: Path) -> None:
    sent, burst, dport = 200, 20, 9099
    with VethLab(prefix="arl") as lab:
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
ratelimit:
  enabled: true
  default_rate: 100000
  default_burst: 100000
  rules:
    - {{id: syn-cap, rate: 1, burst: {burst}, src_ip: "{lab.peer_ip}/32", algorithm: token_bucket}}
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
            arrived, elapsed = count_arrivals(lab.host_if, dport, lambda: send_syns(lab, sent, dport))
            assert isinstance(elapsed, float)
            assert burst <= arrived <= burst + int(elapsed) + 2
            alerts: list[dict] = []
            deadline = time.monotonic() + 5
            while len(alerts) < sent - arrived and time.monotonic() < deadline:
                time.sleep(0.2)
                log.seek(0)
                records = [json.loads(line) for line in log if line.strip().startswith("{")]
                alerts = [
                    r for r in records if r.get("event") == "alert" and r.get("component") == "ratelimit"
                ]
            assert len(alerts) == sent - arrived  # one per throttled packet, before dedup (router: later)
            first = alerts[0]
            assert (first["rule_id"], first["action"], first["src_ip"]) == ("syn-cap", "Block", lab.peer_ip)
            assert first["mitre_attack"]["technique_id"] == "T1498"
        finally:
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=15) == 0
