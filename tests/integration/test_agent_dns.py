"""DNS on a live agent: tc_dns captures a response for a blocklisted domain, the agent alerts
and blocks the resolved address in XDP.

    root netns                                     lab netns
    [agent] XDP + tc_dns on host_if  <== veth ==>  stub resolver (python) asks ads.evil.example
    DNS responder on host_ip:53: ads.evil.example A <peer_ip>
"""

import sys
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until
from _dns import QUERY, Responder

from sentinel_agent.lab import VethLab


def test_blocklisted_domain_alerts_and_its_address_is_blocked(tmp_path: Path) -> None:
    with VethLab(prefix="dns") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(
                lab.host_if,
                port,
                """dns:
  blocklist:
    domains: ["*.evil.example"]
    action: block
dlp:
  enabled: false
""",
            )
        )
        responder = Responder(lab.host_ip, lab.peer_ip)
        try:
            with AgentProcess(config, port, tmp_path / "agent.log") as agent:
                assert lab.ping_from_peer(lab.host_ip, count=1) == 1
                out = lab.ns(sys.executable, "-c", QUERY, lab.host_ip, "ads.evil.example", timeout=20)
                assert int(out.stdout.strip()) > 12  # the stub got its answer
                assert wait_until(lambda: any(a["component"] == "dns" for a in agent.events("alert")), 10)
                alert = next(a for a in agent.events("alert") if a["component"] == "dns")
                assert alert["rule_id"] == "dns-blocklist:*.evil.example"
                assert alert["matched_domain"] == "ads.evil.example"
                assert alert["severity"] == "High"
                # The resolved address (here: the peer itself) is now dropped in XDP.
                assert wait_until(lambda: lab.ping_from_peer(lab.host_ip, count=1) == 0, timeout=5)
                # ... and listed as a domain block, with the domain that caused it.
                status, blocks = agent.get("/api/v1/ips/domain-blocks")
                assert status == 200
                assert [(b["ip"], b["domain"], b["source"]) for b in blocks] == [
                    (lab.peer_ip, "ads.evil.example", "dns-blocklist")
                ]
                assert blocks[0]["reason"] == "dns-blocklist: ads.evil.example"
                assert blocks[0]["ttl_remaining_secs"] > 0
        finally:
            responder.close()
