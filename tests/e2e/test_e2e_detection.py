"""Detection end to end: IDS (Suricata rules file), IPS, DNS, L7, DLP and alert delivery.

    attacker netns (sources .2 .11 .12 .13 .30)        root netns
    TCP payloads, HTTP, TLS ClientHello  ==== veth ==>  [agent] XDP + tc_ids + tc_dns + uprobe_dlp
    stub resolver (python) ─── UDP 53 ───────────────>  DNS responder on host_ip:53 (this process)
                                                         TCP drain servers on host_ip:74xx/76xx
                                                         TLS server on 127.0.0.1 ← python ssl, curl (DLP)
                                                         webhook receiver (HMAC) + EVE file

One agent for the module; each case uses its own attacker source address, so IPS blacklisting in
one case cannot disturb another. The last case checks that every alert the agent stored reached
the webhook (with a valid HMAC) and the EVE file, under the same ids.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from _lab import Agent, Lab, agent_yaml, free_port, wait_until

from integration.fixtures.alerting.receivers import HttpReceiver, self_signed_cert

SECRET = "e2e-hmac-secret-0123456789"
RULES_FILE = """\
alert tcp any any -> any 7401 (msg:"E2E payload"; content:"EVIL-PAYLOAD"; sid:1000001; rev:1;)
alert tcp any any -> any 7402 (msg:"E2E threshold"; content:"THRESH-ME"; \
threshold: type limit, track by_src, count 2, seconds 60; sid:1000002; rev:1;)
alert tcp any any -> any 7403 (msg:"E2E IPS"; content:"IPS-HIT"; sid:1000003; rev:1;)
"""
CONFIG = """firewall:
  mode: block
ids:
  rules_files: [e2e.rules]
ips:
  mode: block
  auto_blacklist_threshold: 3
  max_blacklist_duration_secs: 3
  whitelist: ["{net}.12/32"]
dns:
  blocklist:
    domains: ["*.evil.example"]
    action: block
    grace_period_secs: 0
  reputation:
    enabled: true
l7:
  enabled: true
  ports: [7601, 7643]
  rules:
    - {{id: no-admin, priority: 1, action: deny, protocol: http, path: "/admin*"}}
    - {{id: no-evil-sni, priority: 2, action: deny, protocol: tls, sni: "*.evil.example"}}
alerting:
  dedup_window_secs: 0
  throttle_window_secs: 0
  log_file: {eve}
  webhook: {{timeout_secs: 2, allow_networks: [127.0.0.0/8]}}
  retry: {{initial_backoff_ms: 100, max_backoff_ms: 400}}
  routes:
    - {{name: hook, destination: webhook, min_severity: low, webhook_url: "http://127.0.0.1:{hook}/a",
        webhook_hmac_secret: "{secret}"}}
    - {{name: eve, destination: log, min_severity: low}}
"""
DGA = "xq7zk2vbn9wplr4tj8.com"

TCP_SEND = r"""
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
payload, times = sys.argv[4].encode(), int(sys.argv[5])
ok = 0
for _ in range(times):
    try:
        s = socket.create_connection((dst, port), timeout=2, source_address=(src, 0))
        s.sendall(payload)
        s.close()
        ok += 1
    except OSError:
        pass
print(ok)
"""
TLS_HELLO = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
try:
    ctx.wrap_socket(s, server_hostname=sys.argv[3])
except OSError:
    pass
"""
STUB = r"""
import socket, struct, sys
server, names = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
answered = 0
for i, name in enumerate(names):
    q = struct.pack("!HHHHHH", i + 1, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    s.sendto(q, (server, 53))
    try:
        s.recv(512); answered += 1
    except OSError:
        pass
print(answered)
"""
PY_TLS_CLIENT = r"""
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)) as s:
    body = b"card=4111111111111111"
    s.sendall(b"POST /pay HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    while s.recv(4096):
        pass
"""


class DnsResponder(threading.Thread):
    """UDP 53 on ``host``: *.evil.example → ``evil_answer``, good.example → 198.51.100.7, else NXDOMAIN."""

    def __init__(self, host: str, evil_answer: str) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 53))
        self.sock.settimeout(0.2)
        self.evil = socket.inet_aton(evil_answer)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            labels, i = [], 12
            while query[i]:
                labels.append(query[i + 1 : i + 1 + query[i]].decode())
                i += 1 + query[i]
            name, question = ".".join(labels), query[12 : i + 5]
            ident = struct.unpack("!H", query[:2])[0]
            answer = self.evil if name.endswith(".evil.example") else None
            answer = socket.inet_aton("198.51.100.7") if name == "good.example" else answer
            if answer is None:
                self.sock.sendto(struct.pack("!HHHHHH", ident, 0x8183, 1, 0, 0, 0) + question, peer)
                continue
            header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0)
            record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + answer
            self.sock.sendto(header + question + record, peer)

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=5)
        self.sock.close()


class Drain(threading.Thread):
    """Accepts TCP connections on ``host:port`` and reads them to the end."""

    def __init__(self, host: str, port: int, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ctx = None
        if tls is not None:
            import ssl

            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*tls)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                conn.settimeout(2)
                if self.ctx is not None:
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                else:
                    while conn.recv(4096):
                        pass
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=5)
        self.sock.close()


@dataclass
class Rig:
    lab: Lab
    agent: Agent
    hook: HttpReceiver
    eve: Path
    net: str
    tls_port: int

    def src(self, host: int) -> str:
        return f"{self.net}.{host}"

    def tcp(self, host: int, port: int, payload: str, times: int = 1) -> int:
        out = self.lab.attacker_py(
            TCP_SEND, self.src(host), self.lab.attacker.host_ip, str(port), payload, str(times)
        )
        return int(out.strip())

    def ping(self, host: int) -> int:
        cmd = ["ping", "-n", "-q", "-c", "1", "-W", "1", "-I", self.src(host), self.lab.attacker.host_ip]
        out = self.lab.attacker.ns(*cmd, check=False, timeout=10).stdout
        return next(
            (int(line.split(",")[1].split()[0]) for line in out.splitlines() if "received" in line), 0
        )

    def from_host(self, alerts: list[dict[str, Any]], host: int) -> list[dict[str, Any]]:
        """``alerts`` whose source is the attacker's address ``.host`` (REST gives address words)."""
        wanted = int(ipaddress.IPv4Address(self.src(host)))
        return [a for a in alerts if not a["is_ipv6"] and a["src_addr"][0] == wanted]

    def alerts(self, **query: str) -> list[dict[str, Any]]:
        params = "&".join(f"{k}={v}" for k, v in {"limit": "1000", **query}.items())
        status, body = self.agent.get(f"/api/v1/alerts?{params}")
        assert status == 200
        return list(body["alerts"])


LAB_PREFIX = "edt"


@pytest.fixture(scope="module")
def rig(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("e2e-det")
    cert = self_signed_cert(tmp, "127.0.0.1")
    (tmp / "e2e.rules").write_text(RULES_FILE)
    with HttpReceiver() as hook:
        att = lab.attacker
        net = att.peer_ip.rsplit(".", 1)[0]
        for host in (11, 12, 13, 30):
            att.ns("ip", "addr", "add", f"{net}.{host}/24", "dev", att.peer_if)
        servers = [Drain(att.host_ip, p) for p in (7401, 7402, 7403, 7601, 7643)]
        tls = Drain("127.0.0.1", 0, tls=cert)
        dns = DnsResponder(att.host_ip, f"{net}.30")
        for server in (*servers, tls, dns):
            server.start()
        try:
            port = free_port()
            config = tmp / "agent.yaml"
            eve = tmp / "eve.json"
            body = CONFIG.format(net=net, eve=eve, hook=hook.port, secret=SECRET)
            config.write_text(agent_yaml(att.host_if, port, body, data_dir=tmp / "data"))
            config.chmod(0o600)  # it holds a secret: the agent refuses a world-readable one
            with Agent(config, port, tmp / "agent.log") as agent:
                yield Rig(lab, agent, hook, eve, net, tls.port)
        finally:
            for server in (*servers, tls, dns):
                server.close()


def test_ids_alert_from_a_rules_file(rig: Rig) -> None:
    assert rig.tcp(11, 7401, "hello EVIL-PAYLOAD here") == 1
    assert wait_until(lambda: rig.alerts(component="ids"), timeout=10)
    (alert,) = rig.from_host(rig.alerts(component="ids"), 11)
    assert (alert["rule_id"], alert["dst_port"], alert["message"]) == ("1000001", 7401, "E2E payload")


def test_threshold_limit_fires_twice_and_a_whitelisted_source_is_never_blocked(rig: Rig) -> None:
    assert rig.tcp(12, 7402, "THRESH-ME", times=5) == 5  # whitelisted: all 5 connect

    def fired() -> list[dict[str, Any]]:
        return rig.from_host(rig.alerts(component="ids"), 12)

    assert wait_until(lambda: len(fired()) >= 2, timeout=10)
    assert rig.tcp(12, 7402, "THRESH-ME", times=1) == 1
    assert len(fired()) == 2  # limit 2 per 60 s, by source
    status, body = rig.agent.get("/api/v1/ips/blacklist")
    assert status == 200 and rig.src(12) not in json.dumps(body)
    assert rig.ping(12) == 1


def test_ips_blocks_after_n_hits_and_ttl_expiry_restores_traffic(rig: Rig) -> None:
    assert rig.ping(13) == 1
    rig.tcp(13, 7403, "IPS-HIT", times=3)

    def listed() -> bool:
        return rig.src(13) in json.dumps(rig.agent.get("/api/v1/ips/blacklist")[1])

    assert wait_until(listed, timeout=10)
    assert wait_until(lambda: rig.ping(13) == 0, timeout=5)  # dropped in XDP
    assert rig.ping(11) == 1  # another source of the same host is untouched
    assert wait_until(lambda: rig.ping(13) == 1, timeout=15)  # TTL 3 s, swept within 5 s
    assert not listed()


def stub(rig: Rig, *names: str) -> int:
    return int(rig.lab.attacker_py(STUB, rig.lab.attacker.host_ip, *names).strip())


def test_dns_cache_blocklist_and_reputation(rig: Rig) -> None:
    assert stub(rig, "good.example") == 1

    def cached() -> list[dict[str, Any]]:
        return list(rig.agent.get("/api/v1/dns/cache?domain=good.example")[1]["entries"])

    assert wait_until(cached, timeout=10)
    (entry,) = cached()
    assert entry["ips"] == ["198.51.100.7"] and entry["is_blocked"] is False

    assert rig.ping(30) == 1
    assert stub(rig, "c2.evil.example") == 1  # resolves to the attacker's .30
    assert wait_until(lambda: rig.ping(30) == 0, timeout=10)  # its address is blocked in XDP
    assert any(a["rule_id"] == "dns-blocklist:*.evil.example" for a in rig.alerts(component="dns"))

    assert stub(rig, *[DGA] * 25) == 25  # a burst for one DGA-like name, all NXDOMAIN

    def reputation() -> dict[str, Any]:
        entries = rig.agent.get(f"/api/v1/domains/reputation?domain={DGA}")[1]["entries"]
        return entries[0] if entries else {}

    assert wait_until(lambda: reputation().get("score", 0) > 0, timeout=10)
    rep = reputation()
    assert {"high_entropy", "frequent_queries", "nxdomain_ratio"} <= set(rep["factors"]), rep
    good = rig.agent.get("/api/v1/domains/reputation?domain=good.example")[1]["entries"]
    assert not good or good[0]["score"] < rep["score"]


def test_l7_http_path_and_tls_sni_rules(rig: Rig) -> None:
    rig.tcp(11, 7601, "GET /admin/panel HTTP/1.1\r\nHost: victim\r\n\r\n")
    rig.lab.attacker_py(TLS_HELLO, rig.lab.attacker.host_ip, "7643", "c2.evil.example")
    rig.tcp(11, 7601, "GET /index.html HTTP/1.1\r\nHost: victim\r\n\r\n")

    def rules() -> list[str]:
        return sorted(a["rule_id"] for a in rig.alerts(component="l7"))

    assert wait_until(lambda: rules() == ["no-admin", "no-evil-sni"], timeout=10), rules()


@pytest.mark.parametrize("client", ["python", "curl"])
def test_dlp_over_tls(rig: Rig, client: str) -> None:
    before = len(rig.alerts(component="dlp"))
    if client == "python":
        subprocess.run([sys.executable, "-c", PY_TLS_CLIENT, str(rig.tls_port)], check=False, timeout=30)
    else:
        cmd = [
            "curl",
            "-sk",
            "--http1.1",
            "--data",
            "card=4111111111111111",
            f"https://127.0.0.1:{rig.tls_port}/",
        ]
        subprocess.run(cmd, check=False, timeout=30, capture_output=True)
    assert wait_until(lambda: len(rig.alerts(component="dlp")) > before, timeout=10)
    newest = rig.alerts(component="dlp")[0]
    assert "4111111111111111" not in json.dumps(newest)  # redacted, never the secret


def test_webhook_with_hmac_and_the_eve_file_carry_the_same_alert_ids(rig: Rig) -> None:
    stored = {a["id"] for a in rig.alerts()}
    assert stored

    def hooked() -> dict[str, bytes]:
        return {unquote(r.headers["x-ebpfsentinel-alert-id"]): r.body for r in rig.hook.delivered()}

    def eve_ids() -> set[str]:
        if not rig.eve.exists():
            return set()
        whole = rig.eve.read_text().split("\n")[:-1]  # a line still being written has no newline yet
        return {json.loads(line)["ebpfsentinel"]["id"] for line in whole if line}

    assert wait_until(lambda: stored <= set(hooked()) and stored <= eve_ids(), timeout=20), (
        stored - set(hooked()),
        stored - eve_ids(),
    )
    for request in rig.hook.delivered():
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["x-ebpfsentinel-signature"], expected)
    # uprobe_dlp is system-wide: other processes' TLS traffic may add alerts at any moment, so the
    # check is two inclusions rather than one equality at an instant.
    delivered, written = set(hooked()), eve_ids()
    now = {a["id"] for a in rig.alerts()}
    assert delivered <= now and written <= now  # nothing reached a sink that the store does not hold
