"""DNS on a live agent: tc_dns captures a response for a blocklisted domain, the agent alerts
and blocks the resolved address in XDP.

    root netns                                     lab netns
    [agent] XDP + tc_dns on host_if  <== veth ==>  stub resolver (python) asks ads.evil.example
    DNS responder on host_ip:53: ads.evil.example A <peer_ip>
"""

import socket
import struct
import sys
import threading
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until

from sentinel_agent.lab import VethLab

QUERY = (
    "import socket,struct,sys\n"
    "name=b''.join(bytes([len(p)])+p.encode() for p in 'ads.evil.example'.split('.'))+b'\\0'\n"
    "q=struct.pack('!HHHHHH',0x4242,0x0100,1,0,0,0)+name+struct.pack('!HH',1,1)\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
    "s.sendto(q,(sys.argv[1],53)); print(len(s.recv(512)))\n"
)


class Responder:
    """Answers every A query with ``answer`` (TTL 60) on ``host:53``."""

    def __init__(self, host: str, answer: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 53))
        self.sock.settimeout(0.5)
        self.answer = socket.inet_aton(answer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            question = query[12:]
            header = struct.pack("!HHHHHH", struct.unpack("!H", query[:2])[0], 0x8180, 1, 1, 0, 0)
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + self.answer
            self.sock.sendto(header + question + answer, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


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
                out = lab.ns(sys.executable, "-c", QUERY, lab.host_ip, timeout=20)
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
