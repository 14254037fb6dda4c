"""The agent's detection path end to end: tc_ids → IDS engine → alerts → IPS blocklist in XDP,
and uprobe_dlp → DLP engine → redacted alerts.

    root netns                                         lab netns
    [agent] XDP fw + TC tc_ids on host_if  <== veth ==>  peer: TCP "GET /etc/passwd", pings
    TCP server on host_ip:PORT
    TLS server on 127.0.0.1 (this process)  <== TLS ==  python ssl client leaking a card number
"""

import socket
import subprocess
import sys
import threading
from pathlib import Path

from _agent import AgentProcess, agent_yaml, free_port, wait_until
from test_uprobe_dlp_live import PY_CLIENT, TlsServer, cert  # noqa: F401 (cert is a fixture)

from sentinel_agent.lab import VethLab


class Sink:
    """Accepts TCP connections on ``host:port`` and reads them to the end (bounded)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    while conn.recv(4096):
                        pass
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


SEND = (
    "import socket,sys\n"
    "s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "s.sendall(b'GET /etc/passwd HTTP/1.0\\r\\nHost: victim\\r\\n\\r\\n'); s.close()\n"
)


def test_ids_alerts_feed_the_ips_which_blocks_the_source_in_xdp(tmp_path: Path) -> None:
    port = 18000 + free_port() % 1000
    with VethLab(prefix="det") as lab:
        http_port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(
                lab.host_if,
                http_port,
                f"""firewall:
  mode: block
ids:
  rules:
    - {{id: ids-passwd, severity: high, protocol: tcp, dst_port: {port}, pattern: "/etc/passwd"}}
ips:
  mode: block
  auto_blacklist_threshold: 2
  max_blacklist_duration_secs: 60
dlp:
  enabled: false
""",
            )
        )
        sink = Sink(lab.host_ip, port)
        try:
            with AgentProcess(config, http_port, tmp_path / "agent.log") as agent:
                assert lab.ping_from_peer(lab.host_ip, count=1) == 1
                for _ in range(2):
                    lab.ns(sys.executable, "-c", SEND, lab.host_ip, str(port), timeout=20)
                assert wait_until(
                    lambda: len([a for a in agent.events("alert") if a["component"] == "ips"]) >= 1,
                    timeout=10,
                )
                alerts = agent.events("alert")
                ids_alerts = [a for a in alerts if a["component"] == "ids"]
                assert len(ids_alerts) == 2
                assert {(a["rule_id"], a["src_ip"], a["dst_port"]) for a in ids_alerts} == {
                    ("ids-passwd", lab.peer_ip, port)
                }
                blacklist = [a for a in alerts if a["component"] == "ips"]
                assert blacklist[0]["rule_id"] == f"ips-blacklist:{lab.peer_ip}"
                # The blocklist now drops the source in XDP, before any firewall rule.
                assert wait_until(lambda: lab.ping_from_peer(lab.host_ip, count=1) == 0, timeout=5)
        finally:
            sink.close()


def test_dlp_alerts_on_tls_plaintext_without_leaking_it(tmp_path: Path, cert: tuple[Path, Path]) -> None:  # noqa: F811
    with VethLab(prefix="dlp") as lab:
        http_port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, http_port, "ids:\n  enabled: false\n"))
        server = TlsServer(cert)
        try:
            with AgentProcess(config, http_port, tmp_path / "agent.log") as agent:
                subprocess.run(
                    [sys.executable, "-c", PY_CLIENT, str(server.port)],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
                assert wait_until(lambda: any(a["component"] == "dlp" for a in agent.events("alert")), 10)
                dlp = [a for a in agent.events("alert") if a["component"] == "dlp"]
                assert dlp[0]["rule_id"] == "dlp-pci-visa"
                assert dlp[0]["data_type"] == "pci" and dlp[0]["mitre_attack"]["technique_id"] == "T1041"
                assert "4111111111111111" not in agent.log_path.read_text()  # redacted everywhere
        finally:
            server.close()


HTTP = (
    "import socket,sys\n"
    "s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "s.sendall(b'GET /admin/users HTTP/1.1\\r\\nHost: victim.example\\r\\n\\r\\n'); s.close()\n"
)


def test_l7_rule_on_an_http_path_raises_an_alert(tmp_path: Path) -> None:
    port = 18000 + free_port() % 1000
    with VethLab(prefix="l7t") as lab:
        http_port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(
            agent_yaml(
                lab.host_if,
                http_port,
                f"""l7:
  enabled: true
  ports: [{port}]
  rules:
    - {{id: no-admin, priority: 1, action: deny, protocol: http, path: "/admin*"}}
dlp:
  enabled: false
""",
            )
        )
        sink = Sink(lab.host_ip, port)
        try:
            with AgentProcess(config, http_port, tmp_path / "agent.log") as agent:
                lab.ns(sys.executable, "-c", HTTP, lab.host_ip, str(port), timeout=20)
                assert wait_until(lambda: any(a["component"] == "l7" for a in agent.events("alert")), 10)
                alert = next(a for a in agent.events("alert") if a["component"] == "l7")
                assert (alert["rule_id"], alert["src_ip"], alert["dst_port"]) == (
                    "no-admin",
                    lab.peer_ip,
                    port,
                )
                assert alert["message"].startswith("L7 http deny rule=no-admin")
        finally:
            sink.close()
