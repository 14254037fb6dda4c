"""The demo's agent configuration: every engine on, rules aimed at the lab's addresses."""

from dataclasses import dataclass
from pathlib import Path

# Victim-side services (bound to the victim address in the root namespace): the first port of
# each list that is free on this host (a service listening on 0.0.0.0:80 takes 80 everywhere).
IDS_PORTS = (80, 8081, 18081)  # plain TCP service the IDS inspects
WEB_PORTS = (8080, 8000, 18080)  # HTTP service: L7 rules, and the "open" port of reachability probes
TLS_PORTS = (8443, 4443, 18443)  # TLS service for the DLP step
BURST_PORT = 9099  # target of the SYN burst (nothing listens)
SINK_PORT = 8088  # HTTP server in the sink namespace: threat-intel feed and webhook receiver

SYN_BURST = 20  # rate-limit burst for the flooding source
FEED_ID = "demo-feed"
C2_DOMAIN = "c2.evil.example"


@dataclass(frozen=True, slots=True)
class Addresses:
    """Who is who in the lab (every attacker source is its own address, so one step's block does not
    leak into the next)."""

    victim: str  # root-namespace side of the attacker veth, where the agent attaches
    victim_if: str
    resolver: str  # attacker namespace: the DNS resolver the victim asks
    scanner: str
    flooder: str
    intruder: str  # IDS hits, then IPS auto-block
    ioc: str  # listed in the threat-intel feed
    c2: str  # what the blocklisted domain resolves to
    web_client: str  # L7 forbidden path
    leaker: str  # TLS client carrying a card number
    sink: str  # sink namespace: feed + webhooks
    ids_port: int = IDS_PORTS[0]
    web_port: int = WEB_PORTS[0]
    tls_port: int = TLS_PORTS[0]


def demo_config(a: Addresses, workdir: Path, ports: tuple[int, int, int]) -> str:
    http_port, grpc_port, metrics_port = ports
    return f"""# eBPFsentinel demo configuration (generated for this run)
agent:
  interfaces: [{a.victim_if}]
  http_port: {http_port}
  grpc_port: {grpc_port}
  metrics_port: {metrics_port}
  log_format: json
  data_dir: {workdir}/data
firewall:
  mode: block
  default_policy: pass
  rules:
    - {{id: deny-scan, priority: 10, action: deny, protocol: tcp, src_ip: "{a.scanner}/32",
       dst_port: "1-1024"}}
ratelimit:
  enabled: true
  default_rate: 100000
  default_burst: 100000
  rules:
    - {{id: syn-flood, rate: 1, burst: {SYN_BURST}, src_ip: "{a.flooder}/32", algorithm: token_bucket}}
ids:
  enabled: true
  rules:
    - {{id: ids-etc-passwd, severity: high, protocol: tcp, dst_port: {a.ids_port}, pattern: "/etc/passwd"}}
ips:
  enabled: true
  mode: block
  auto_blacklist_threshold: 2
  max_blacklist_duration_secs: 300
threatintel:
  enabled: true
  mode: block
  allow_networks: ["{a.sink}/32"]  # the feed is served from the lab (the SSRF guard refuses it otherwise)
  feeds:
    - {{id: {FEED_ID}, name: Demo feed, url: "http://{a.sink}:{SINK_PORT}/feed.txt", format: plaintext}}
dns:
  enabled: true
  blocklist:
    domains: ["*.evil.example"]
    action: block
l7:
  enabled: true
  ports: [{a.web_port}]
  rules:
    - {{id: no-admin, priority: 1, action: deny, protocol: http, path: "/admin*"}}
dlp:
  enabled: true
alerting:
  webhook:
    allow_networks: ["{a.sink}/32"]
  routes:
    - {{name: eve, destination: log, min_severity: low}}
    - {{name: sink, destination: webhook, min_severity: high, webhook_url: "http://{a.sink}:{SINK_PORT}/alerts"}}
"""
