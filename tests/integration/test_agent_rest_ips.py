"""The REST surface of ``rest/more.py`` on a live agent: every read answers, and the kernel
follows an IPS blacklist add/delete at once.

    root netns                          lab netns
    [agent] XDP on host_if  <== veth ==>  peer_if  (pings tell whether the peer is blacklisted)
"""

from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port

from sentinel_agent.lab import VethLab

YAML = """firewall:
  mode: block
ips:
  mode: block
ratelimit:
  enabled: true
dlp:
  enabled: false
"""

READS = [
    "/api/v1/agent/identity",
    "/api/v1/ebpf/status",
    "/api/v1/config",
    "/api/v1/mitre/coverage",
    "/api/v1/ips/rules",
    "/api/v1/ips/blacklist",
    "/api/v1/ips/domain-blocks",
    "/api/v1/ratelimit/rules",
    "/api/v1/threatintel/status",
    "/api/v1/threatintel/iocs",
    "/api/v1/threatintel/feeds",
    "/api/v1/dlp/status",
    "/api/v1/dlp/patterns",
    "/api/v1/ids/status",
    "/api/v1/ids/rules",
    "/api/v1/firewall/l7-rules",
    "/api/v1/dns/status",
    "/api/v1/dns/cache",
    "/api/v1/dns/stats",
    "/api/v1/dns/blocklist",
]


def test_blacklist_add_and_delete_drive_the_kernel(tmp_path: Path) -> None:
    with VethLab(prefix="ipa") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, port, YAML, data_dir=tmp_path / "data"))
        with AgentProcess(config, port, tmp_path / "agent.log") as agent:
            for path in READS:
                status, body = agent.get(path)
                assert status == 200, (path, body)
            programs = {p["name"]: p["loaded"] for p in agent.get("/api/v1/ebpf/status")[1]["programs"]}
            assert programs["xdp_firewall"] is True

            assert lab.ping_from_peer(lab.host_ip, count=1) == 1
            status, body = agent.request(
                "POST", "/api/v1/ips/blacklist", {"ip": lab.peer_ip, "ttl_secs": 600}
            )
            assert (status, body["ip"], body["reason"]) == (201, lab.peer_ip, "manual-api")
            # the kernel map is written before the 201: the very next packet is dropped
            assert lab.ping_from_peer(lab.host_ip, count=1) == 0
            listed = agent.get("/api/v1/ips/blacklist")[1]
            assert [(e["ip"], e["auto_generated"]) for e in listed] == [(lab.peer_ip, False)]
            status, body = agent.request("POST", "/api/v1/ips/blacklist", {"ip": lab.peer_ip})
            assert (status, body["error"]["code"]) == (400, "IPS_BLACKLIST_ERROR")

            assert agent.request("DELETE", f"/api/v1/ips/blacklist/{lab.peer_ip}")[0] == 204
            assert lab.ping_from_peer(lab.host_ip, count=1) == 1
            status, body = agent.request("DELETE", f"/api/v1/ips/blacklist/{lab.peer_ip}")
            assert (status, body["error"]["code"]) == (404, "IPS_BLACKLIST_ENTRY_NOT_FOUND")
