"""The scripted attacks. Each step sends real traffic, then checks what really happened: replies
(or their absence) on the attacker's sockets, arrivals counted on the victim interface, the alerts
the agent stored (``GET /api/v1/alerts``) with their rule and MITRE technique, and kernel state
the agent exposes (IPS blacklist)."""

import json
import os
import socket
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel_agent.demo import attacks
from sentinel_agent.demo.config import (
    BURST_PORT,
    C2_DOMAIN,
    FEED_ID,
    SYN_BURST,
    Addresses,
)
from sentinel_agent.lab import VethLab
from sentinel_domain.alert.mitre import (
    mitre_for_dlp,
    mitre_for_dns,
    mitre_for_firewall,
    mitre_for_ids,
    mitre_for_l7,
    mitre_for_ratelimit,
    mitre_for_threatintel,
)
from sentinel_domain.common import address_to_words, parse_address

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SCAN_PORTS = (21, 22, 23, 25, 80, 110, 139, 443, 445, 993)  # + the web port
FLOOD_PACKETS = 200
CARD = "4111111111111111"


@dataclass(slots=True)
class StepResult:
    title: str
    passed: bool = False
    verdict: str = ""
    alert: str = ""
    mitre: str = "-"
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition

    def expect_mitre(self, alerts: list[dict[str, Any]], want: str) -> None:
        """Every alert carries technique ``want``; shows the first alert's technique."""
        found = techniques(alerts)
        self.expect(bool(alerts) and found == {want}, f"MITRE {sorted(found)}, expected {want}")
        self.mitre = mitre_text(alerts[0]) if alerts else "-"


class AgentApi:
    """The running agent's REST API on loopback."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, timeout: float = 5) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")

    def text(self, path: str, timeout: float = 5) -> str:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as resp:
            return str(resp.read().decode())

    def alerts(self, component: str, rule_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        query = {"component": component, "limit": str(limit)}
        if rule_id is not None:
            query["rule_id"] = rule_id
        try:
            return list(self.get("/api/v1/alerts?" + urllib.parse.urlencode(query))["alerts"])
        except (OSError, ValueError, KeyError):
            return []


def wait_for(predicate: Callable[[], Any], timeout: float, step: float = 0.1) -> Any:
    """Poll ``predicate`` until truthy or ``timeout`` s pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def words(ip: str) -> list[int]:
    return list(address_to_words(parse_address(ip)))


def from_src(alerts: list[dict[str, Any]], ip: str) -> list[dict[str, Any]]:
    want = words(ip)
    return [a for a in alerts if a.get("src_addr") == want]


def techniques(alerts: list[dict[str, Any]]) -> set[str]:
    return {str(a.get("mitre_technique_id")) for a in alerts if a.get("mitre_technique_id")}


def mitre_text(alert: dict[str, Any]) -> str:
    if not alert.get("mitre_technique_id"):
        return "-"
    return f"{alert['mitre_technique_id']} {alert.get('mitre_technique_name', '')}".strip()


class Scenario:
    """The steps, in order. ``lab`` is the attacker namespace's veth pair."""

    def __init__(self, lab: VethLab, addresses: Addresses, api: AgentApi, webhook_log: Path) -> None:
        self.lab = lab
        self.a = addresses
        self.api = api
        self.webhook_log = webhook_log
        self.web_requests: Callable[[], list[bytes]] = list

    def steps(self) -> list[tuple[str, Callable[[StepResult], None]]]:
        return [
            ("Port scan hitting a deny rule (firewall, XDP)", self.port_scan),
            ("SYN burst against the rate limiter (XDP)", self.syn_burst),
            ("IDS signature hit, then IPS auto-block", self.ids_then_ips),
            ("Traffic from a threat-intel IOC (feed over HTTP)", self.threat_intel),
            ("DNS lookup of a blocklisted domain", self.dns_blocklist),
            ("HTTP request to a forbidden path (L7)", self.l7_path),
            ("Card number inside TLS (DLP, uprobe on libssl)", self.dlp_tls),
            ("High-severity alerts delivered to the sink (webhook)", self.webhook_delivery),
        ]

    # -- attacker-side helpers -----------------------------------------------------------------
    def probe(self, src: str, ports: tuple[int, ...], wait: float = 1.0) -> dict[int, str]:
        """Parallel TCP connects from ``src``: open / closed (RST) / filtered (no answer)."""
        result = self.lab.ns(
            sys.executable, "-c", attacks.PROBE, src, self.a.victim, str(wait), *map(str, ports), timeout=15
        )
        return {int(k): v for k, v in json.loads(result.stdout).items()}

    def send(self, src: str, port: int, payload: bytes) -> str:
        result = self.lab.ns(
            sys.executable, "-c", attacks.SEND, src, self.a.victim, str(port), payload.hex(), timeout=15
        )
        return result.stdout.strip()

    def reachable(self, src: str) -> str:
        return self.probe(src, (self.a.web_port,))[self.a.web_port]

    # -- steps ---------------------------------------------------------------------------------
    def port_scan(self, r: StepResult) -> None:
        scanned = (*SCAN_PORTS, self.a.web_port)
        states = self.probe(self.a.scanner, scanned)
        denied = [p for p in scanned if 1 <= p <= 1024 and p != 22]
        filtered = [p for p in denied if states[p] == "filtered"]
        others = f"22 {states[22]}, {self.a.web_port} {states[self.a.web_port]}"
        r.verdict = f"{len(filtered)}/{len(denied)} denied ports dropped; {others}"
        r.expect(len(filtered) == len(denied), f"not dropped: {sorted(set(denied) - set(filtered))}")
        r.expect(states[22] != "filtered", "port 22 dropped despite the anti-lockout rule")
        r.expect(
            states[self.a.web_port] == "open",
            f"port {self.a.web_port} (outside the rule) not open: {states[self.a.web_port]}",
        )

        def got() -> list[dict[str, Any]]:
            found = from_src(self.api.alerts("firewall", "deny-scan"), self.a.scanner)
            return found if {a["dst_port"] for a in found} >= set(denied) else []

        alerts = wait_for(got, 5) or from_src(self.api.alerts("firewall", "deny-scan"), self.a.scanner)
        ports_alerted = {a["dst_port"] for a in alerts}
        r.alert = f"firewall deny-scan x{len(alerts)} ({len(ports_alerted)} ports)"
        missing = sorted(set(denied) - ports_alerted)
        r.expect(not missing, f"no firewall alert for ports {missing}")
        # the firewall's technique depends on the port (T1046 for ports with no specific mapping)
        wrong = [
            a for a in alerts if a.get("mitre_technique_id") != mitre_for_firewall(a["dst_port"]).technique_id
        ]
        r.expect(bool(alerts) and not wrong, f"{len(wrong)} firewall alerts with an unexpected technique")
        r.mitre = ", ".join(sorted(techniques(alerts)))

    def syn_burst(self, r: StepResult) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            sock.bind((self.a.victim_if, 0))
            sock.settimeout(0.2)
            with open(f"/sys/class/net/{self.a.victim_if}/address") as f:
                victim_mac = f.read().strip().replace(":", "")
            out = self.lab.ns(
                sys.executable, "-c", attacks.SYN_FLOOD, self.lab.peer_if, victim_mac, self.a.flooder,
                self.a.victim, str(FLOOD_PACKETS), str(BURST_PORT), timeout=30,
            )  # fmt: skip
            elapsed = float(out.stdout.strip())
            arrived = 0
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                try:
                    frame, addr = sock.recvfrom(2048)
                except TimeoutError:
                    continue
                if addr[2] == PACKET_OUTGOING or frame[12:14] != b"\x08\x00" or frame[23] != 6:
                    continue
                ihl = (frame[14] & 0x0F) * 4
                port, flags = struct.unpack_from("!H", frame, 14 + ihl + 2)[0], frame[14 + ihl + 13]
                if port == BURST_PORT and flags & 0x02:
                    arrived += 1
        finally:
            sock.close()
        allowed = SYN_BURST + int(elapsed) + 2
        r.verdict = f"{FLOOD_PACKETS} SYNs sent, {arrived} passed, {FLOOD_PACKETS - arrived} dropped"
        r.expect(SYN_BURST <= arrived <= allowed, f"{arrived} SYNs passed, expected {SYN_BURST}..{allowed}")
        throttled = FLOOD_PACKETS - arrived
        alerts = wait_for(lambda: len(self.api.alerts("ratelimit", "syn-flood")) >= throttled, 8)
        alerts = from_src(self.api.alerts("ratelimit", "syn-flood"), self.a.flooder)
        r.alert = f"ratelimit syn-flood x{len(alerts)}"
        r.expect(len(alerts) == throttled, f"{len(alerts)} rate-limit alerts for {throttled} throttled SYNs")
        r.expect_mitre(alerts, mitre_for_ratelimit(BURST_PORT).technique_id)

    def ids_then_ips(self, r: StepResult) -> None:
        before = self.reachable(self.a.intruder)
        request = b"GET /../../etc/passwd HTTP/1.0\r\nHost: victim\r\n\r\n"
        sent = [self.send(self.a.intruder, self.a.ids_port, request) for _ in range(2)]
        r.expect(sent == ["sent", "sent"], f"the intruder's requests did not get through: {sent}")
        ips = wait_for(lambda: self.api.alerts("ips", f"ips-blacklist:{self.a.intruder}"), 8)
        after = wait_for(lambda: self.reachable(self.a.intruder) == "filtered", 5) and "filtered"
        after = after or self.reachable(self.a.intruder)
        blacklist = self.api.get("/api/v1/ips/blacklist")
        listed = any(e.get("ip") == self.a.intruder for e in blacklist)
        r.verdict = f"2 requests delivered, then blacklisted: {self.a.web_port} {before} -> {after}"
        r.expect(before == "open", f"the intruder could not connect before the attack ({before})")
        r.expect(after == "filtered", f"the intruder is not blocked after the IPS alert ({after})")
        r.expect(listed, "the intruder is not on GET /api/v1/ips/blacklist")
        ids = from_src(self.api.alerts("ids", "ids-etc-passwd"), self.a.intruder)
        drops = wait_for(lambda: from_src(self.api.alerts("firewall", "ips-blocklist"), self.a.intruder), 5)
        r.alert = f"ids ids-etc-passwd x{len(ids)}, ips blacklist x{len(ips)}, XDP drop x{len(drops)}"
        r.expect(bool(drops), "no firewall ips-blocklist alert for the intruder's dropped packets")
        r.expect(len(ids) >= 2, f"{len(ids)} IDS alerts, expected 2")
        r.expect(len(ips) == 1, f"{len(ips)} IPS blacklist alerts, expected 1")
        r.expect_mitre(ids, mitre_for_ids(self.a.ids_port).technique_id)

    def threat_intel(self, r: StepResult) -> None:
        def loaded() -> int:
            try:
                status = self.api.get("/api/v1/threatintel/status")
            except (OSError, ValueError):
                return 0
            return int(status.get("ioc_count", 0) or 0)

        iocs = wait_for(loaded, 15, step=0.3)
        r.expect(iocs > 0, "the agent holds no IOC: the feed was not fetched")
        state = self.reachable(self.a.ioc)
        r.verdict = f"{iocs} IOC fetched from the sink's feed; connection from the IOC {self.a.ioc}: {state}"
        r.expect(state == "filtered", f"traffic from the IOC was not dropped ({state})")
        alerts = wait_for(lambda: from_src(self.api.alerts("threatintel", f"ti-{FEED_ID}"), self.a.ioc), 5)
        r.alert = f"threatintel ti-{FEED_ID} x{len(alerts)}"
        r.expect(bool(alerts), "no threat-intel alert")
        r.expect_mitre(alerts, mitre_for_threatintel("other", self.a.web_port).technique_id)

    def dns_blocklist(self, r: StepResult) -> None:
        before = self.reachable(self.a.c2)
        answer = resolve(C2_DOMAIN, self.a.resolver, self.a.victim)
        r.expect(answer == self.a.c2, f"the victim's lookup got {answer!r}, expected {self.a.c2}")
        alerts = wait_for(lambda: self.api.alerts("dns", "dns-blocklist:*.evil.example"), 8)
        after = wait_for(lambda: self.reachable(self.a.c2) == "filtered", 5) and "filtered"
        after = after or self.reachable(self.a.c2)
        r.verdict = f"{C2_DOMAIN} -> {answer}; C2 {before} -> {after}"
        r.expect(before == "open", f"the C2 address could not connect before the lookup ({before})")
        r.expect(after == "filtered", f"the resolved C2 address is not blocked ({after})")
        matched = [a for a in alerts if a.get("matched_domain") == C2_DOMAIN]
        drops = wait_for(lambda: from_src(self.api.alerts("firewall", "ips-blocklist"), self.a.c2), 5)
        r.alert = f"dns dns-blocklist:*.evil.example x{len(matched)}, XDP blocklist drop x{len(drops)}"
        r.expect(bool(drops), "no firewall ips-blocklist alert for the C2's dropped packets")
        r.expect(bool(matched), f"no DNS alert for {C2_DOMAIN}")
        r.expect_mitre(matched, mitre_for_dns("blocklist").technique_id)

    def l7_path(self, r: StepResult) -> None:
        seen = len(self.web_requests())
        sent = self.send(
            self.a.web_client, self.a.web_port, b"GET /admin/users HTTP/1.1\r\nHost: victim\r\n\r\n"
        )
        alerts = wait_for(lambda: from_src(self.api.alerts("l7", "no-admin"), self.a.web_client), 8)
        delivered = any(b"/admin/users" in req for req in self.web_requests()[seen:])
        action = alerts[0]["action"] if alerts else "?"
        arrived = "arrived" if delivered else "did not arrive"
        r.verdict = f"rule no-admin matched, alert action {action}; the request {arrived} (L7 is detection)"
        r.expect(sent == "sent", f"the request could not be sent ({sent})")
        r.alert = f"l7 no-admin x{len(alerts)}"
        r.expect(bool(alerts), "no L7 alert")
        r.expect_mitre(alerts, mitre_for_l7(self.a.web_port).technique_id)

    def dlp_tls(self, r: StepResult) -> None:
        out = self.lab.ns(
            sys.executable, "-c", attacks.TLS_LEAK, self.a.leaker, self.a.victim, str(self.a.tls_port),
            check=False, timeout=20,
        )  # fmt: skip
        status = out.stdout.strip() or out.stderr.strip()[-120:]
        r.expect(out.returncode == 0, f"the TLS client failed: {status}")
        # the uprobe sees every process using libssl: the victim service (this process) read the
        # card number with SSL_read, the attacker's client wrote it with SSL_write
        me = os.getpid()

        def victim_read() -> list[dict[str, Any]]:
            return [a for a in self.api.alerts("dlp", "dlp-pci-visa") if a.get("tgid") == me]

        wait_for(victim_read, 8)
        alerts = self.api.alerts("dlp", "dlp-pci-visa")
        mine, others = victim_read(), [a for a in alerts if a.get("tgid") != me]
        r.verdict = f"TLS POST answered '{status}'; plaintext caught in the victim's SSL_read (pid {me})"
        r.alert = f"dlp dlp-pci-visa x{len(alerts)} (victim x{len(mine)}, client x{len(others)})"
        r.expect(bool(mine), "no DLP alert for the victim service's SSL_read")
        r.expect(all(CARD not in json.dumps(a) for a in alerts), "the card number leaked into an alert")
        r.expect_mitre(alerts, mitre_for_dlp("pci").technique_id)

    def webhook_delivery(self, r: StepResult) -> None:
        def delivered() -> set[str]:
            if not self.webhook_log.exists():
                return set()
            seen = set()
            for line in self.webhook_log.read_text().splitlines():
                try:
                    seen.add(str(json.loads(line).get("component")))
                except (ValueError, AttributeError):
                    continue
            return seen

        want = {"ids", "ips", "dns"}
        components = wait_for(lambda: delivered() >= want, 10) and delivered()
        components = components or delivered()
        count = len(self.webhook_log.read_text().splitlines()) if self.webhook_log.exists() else 0
        r.verdict = f"{count} webhook POSTs received by the sink namespace"
        r.alert = "components: " + (", ".join(sorted(components)) or "none")
        r.expect(components >= want, f"the sink missed alerts of {sorted(want - components)}")
        text = self.webhook_log.read_text() if self.webhook_log.exists() else ""
        r.expect(CARD not in text, "the card number leaked into a webhook")


def resolve(name: str, server: str, source: str) -> str:
    """One A query from ``source`` (the victim) to ``server``; the first answer's address or ''."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = struct.pack("!HHHHHH", 0x5E57, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(3)
        try:
            s.sendto(query, (server, 53))
            reply = s.recv(512)
        except OSError:
            return ""
    return socket.inet_ntoa(reply[-4:]) if len(reply) >= len(query) + 16 else ""
