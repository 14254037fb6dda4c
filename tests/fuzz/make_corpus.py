"""Regenerate the committed seed corpora: ``.venv/bin/python tests/fuzz/make_corpus.py``.

Seeds come from the unit tests' fixtures (the L7 malformed corpus, the DNS and threat-intel
feed samples, the sample ``.rules`` file) and from the builders of ``_seeds_wire.py``. Each seed
is stored as ``corpus/<target>/seed-<sha1>``; stale ``seed-*`` files are removed, any other file
(``regress-*``: inputs that once failed) is kept. Harnesses whose first byte selects a mode or
option set get each seed once per useful selector value.
"""

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seeds_wire as wire
from targets import CORPUS_DIR, TARGETS

FIXTURES = CORPUS_DIR.parents[1] / "unit" / "domain" / "fixtures"
MAX_SEED = 4096

HTTP = [
    b"GET /admin/users?id=1 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: x\r\n\r\n",
    b"POST /api HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    b"GET / HTTP/1.0\r\n\r\n",
    b"PUT /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n folded\nContent-Length: 1\nContent-Length: 2\n\n",
]
SMTP = [
    b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    b"Subject: hi\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n",
    b"EHLO x\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nBDAT 5 LAST\r\nhelloRSET\r\nSTARTTLS\r\n",
    b"220 mail.example ESMTP\r\nVRFY root\r\nEXPN staff\r\n",
]
FTP = [
    b"USER anonymous\r\nPASS guest@\r\nCWD /pub\r\nTYPE I\r\nPORT 192,0,2,10,200,10\r\n"
    b"RETR f.tgz\r\nQUIT\r\n",
    b"EPRT |2|::1|8080|\r\nPORT 198,51,100,7,19,137\r\n\xff\xf4\xff\xf2ABOR\r\nAUTH TLS\r\n\x16\x03\x01",
    b"220 ftp.example FTP ready\r\nSITE EXEC x\r\nPORT 1,2,3\r\n",
]
CONFIGS = [
    b"agent:\n  interfaces: [eth0]\n",
    b"""agent:
  interfaces: [eth0, lo]
  http_port: 8081
  log_level: debug
firewall:
  mode: block
  default_policy: drop
  anti_lockout: {enabled: true, ports: [22]}
  rules:
    - {id: ssh, priority: 10, action: allow, protocol: tcp, dst_port: 22, src_ip: 10.0.0.0/8}
    - {id: web, priority: 20, action: deny, protocol: tcp, dst_port: "80-90", scope: {interface: eth0}}
ratelimit:
  enabled: true
  default_rate: 100
  rules: [{id: r1, rate: 10, burst: 20, src_ip: "2001:db8::/32", algorithm: leaky_bucket}]
ids:
  rules: [{id: ids-1, severity: high, protocol: tcp, dst_port: 80, pattern: "GET /admin"}]
  rules_files: [local.rules]
  variables: {HOME_NET: "10.0.0.0/8"}
  sampling: {mode: hash, rate: 0.5}
ips: {auto_blacklist_threshold: 5, whitelist: [127.0.0.1]}
dlp: {patterns: [{id: dlp-pci-visa, enabled: false}]}
dns:
  blocklist: {domains: [bad.example, "*.evil.example"], action: alert}
threatintel:
  mode: block
  feeds: [{id: f1, name: Feed one, url: "https://feeds.example.org/ips.txt", format: plaintext}]
""",
    b"anchors: &a [1, 2]\nagent: {interfaces: *a}\nagent: {}\n",
    b"agent: !!python/object:os.system {interfaces: [eth0]}\n",
    b"\xef\xbb\xbfagent:\n  interfaces:\n  - eth0\n  bind_address: 0.0.0.0\n"
    b"  allow_unauthenticated_api: true\n",
]


def _l7_fixture(protocol: str) -> list[bytes]:
    path = FIXTURES / "l7" / "malformed_corpus.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [bytes.fromhex(c["hex"]) for c in cases if c["protocol"] == protocol]


def _fixture(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


def _dns(*names: str) -> list[bytes]:
    return [_fixture("dns", name) for name in names]


def _ti(*names: str) -> list[bytes]:
    return [_fixture("threatintel", name) for name in names]


def _rules_chunks() -> list[bytes]:
    """The sample rules file in chunks of a few rules (seeds stay small and varied)."""
    lines = _fixture("ids", "sample.rules").splitlines(keepends=True)
    return [b"".join(lines[i : i + 6]) for i in range(0, len(lines), 6)]


def _with_selectors(seeds: list[bytes], selectors: range) -> list[bytes]:
    """Each seed behind each first byte in ``selectors`` (the harness's mode or option set)."""
    return [bytes([s]) + seed for seed in seeds for s in selectors]


def seeds() -> dict[str, list[bytes]]:
    """Seed inputs per target."""
    tls, smb = wire.tls_hellos(), wire.smb_sessions()
    grpc = [wire.grpc_connection(), wire.grpc_connection(1, big_header=True)]
    l7 = {
        "http": HTTP + _l7_fixture("http"),
        "tls": tls + _l7_fixture("tls"),
        "smtp": SMTP + _l7_fixture("smtp"),
        "ftp": FTP + _l7_fixture("ftp"),
        "smb": smb + _l7_fixture("smb"),
    }
    every_l7 = [s for group in l7.values() for s in group] + grpc
    # l7_inspect's first byte: 0 = detect the protocol, 1-6 = force one, 0x10 = the IPv6 packet.
    forced = (HTTP[0], tls[0], grpc[0], SMTP[0], FTP[0], smb[0])
    detected = HTTP[:2] + SMTP[:1] + FTP[:1] + tls[:1] + smb[:2] + grpc[:1]
    return {
        "ring_packet_events": wire.ring_packet_events(),
        "ring_dns_events": wire.ring_dns_events(),
        "ring_ids_records": wire.ring_ids_records(),
        "ring_dlp_records": wire.ring_dlp_records(),
        **{f"l7_{name}": group for name, group in l7.items()},
        # l7_grpc's first byte: even = the connection preface is required, odd = optional.
        "l7_grpc": [b"\0" + s for s in grpc + _l7_fixture("grpc")] + [b"\1" + g[24:] for g in grpc],
        "l7_detect": [s[:64] for s in every_l7],
        "l7_inspect": [b"\0" + s for s in detected]
        + [bytes([i + 1]) + s for i, s in enumerate(forced)]
        + [b"\x10" + HTTP[0]],
        "dns_message": wire.dns_messages(),
        "dns_hosts": _with_selectors(_dns("hosts.txt"), range(2)),
        "dns_plain_list": _with_selectors(_dns("plain.txt"), range(2)),
        "dns_adblock": _with_selectors(_dns("adblock.txt"), range(2)),
        "ti_plain": _with_selectors(_ti("plain_mixed.txt", "spamhaus_drop.txt"), range(3)),
        "ti_csv": _with_selectors([*_ti("generic_with_header.csv"), b"ip\n192.0.2.1\n"], range(3)),
        "ti_json": _with_selectors(
            [*_ti("generic_nested.json"), b'["192.0.2.1", {"ip": "a.example"}]'], range(3)
        ),
        "ti_stix": _with_selectors(_ti("stix_bundle.json"), range(2)),
        "ti_spamhaus_drop": _with_selectors(_ti("spamhaus_drop_v4.json", "spamhaus_drop.txt"), range(2)),
        "ti_feodo": _with_selectors(_ti("feodo_ipblocklist.csv"), range(2)),
        "ti_urlhaus": _with_selectors(_ti("urlhaus_recent.csv"), range(2)),
        "ti_zeek_intel": _with_selectors(_ti("zeek_intel.dat"), range(2)),
        "ids_signatures": _rules_chunks(),
        "config_yaml": CONFIGS,
    }


def write(target: str, inputs: list[bytes]) -> int:
    """Store ``inputs`` as the target's seeds; returns how many distinct seeds were written."""
    directory = CORPUS_DIR / target
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {f"seed-{hashlib.sha1(data).hexdigest()}": data[:MAX_SEED] for data in inputs}
    for stale in directory.glob("seed-*"):
        if stale.name not in wanted:
            stale.unlink()
    for name, data in wanted.items():
        (directory / name).write_bytes(data)
    return len(wanted)


def main() -> int:
    all_seeds = seeds()
    missing = set(TARGETS) - set(all_seeds)
    if missing:
        print(f"no seeds for {sorted(missing)}", file=sys.stderr)
        return 1
    for target in TARGETS:
        print(f"{target}: {write(target, all_seeds[target])} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
