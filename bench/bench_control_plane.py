"""Control plane: REST rule add → kernel verdict latency, 100,000-entry IPS blocklist load, and a
REST reload of a 4,096-rule firewall set.

1. **REST add → kernel effective** (targets: p99 ≤ 5 ms). The real agent runs as a subprocess on
   a ``VethLab`` interface (firewall in block mode, nothing else in the XDP chain). For each of
   ``--adds`` adds, a thread sends the request on a kept-alive HTTP connection while this thread
   test-runs (``BPF_PROG_TEST_RUN``) the agent's own attached xdp_firewall program — found by id
   on the interface — on a UDP frame from the new rule's source, every ~50 µs, until the verdict
   is XDP_DROP. "Effective" = request sent → first test run that drops; "response" = request sent
   → HTTP response read. Two kinds: ``POST /api/v1/firewall/rules`` (a deny rule for a new /32;
   the policy is recompiled as a whole, so the set grows from 3 to ``adds`` + 3 rules; once
   back to back and once one per 20 ms, past the adapter's 10 ms grace period) and
   ``POST /api/v1/ips/blacklist`` (one LPM entry). Baseline in the same run: ``GET /healthz`` on
   the same connection. Before timing, the frame is checked to pass.
2. **100,000 IPS blocklist entries** (target ≤ 1 s) into xdp_firewall's ``fw_block_v4`` LPM trie,
   each on a fresh standalone object, by three paths: ``IpsEnforcer.add_manual`` per entry (what a
   REST add does, minus HTTP: engine checks + state + the adapter), ``BpfBlocklist.block`` per
   entry (the adapter: one ``bpf_map_update_elem`` each), and ``BpfBlocklist.block_many`` (one
   batched ``bpf_map_update_batch`` per family: what a resync uses). Baseline: building the 100,000
   keys in Python. The first and last addresses must then be dropped by a test run. The enforcer
   path (it was quadratic before the IPS engine kept an expiry heap) runs on
   ``--enforcer-entries`` (5,000) and its 100,000 figure is not measured.
3. **Reload of a 4,096-rule firewall set**: ``POST /api/v1/config/reload`` alternating two
   configs of the rule mix of ``bench/_common.rule_mix`` (4,096 v4 rules; the two differ in every
   rule's priority, so every rule is replaced and audited; anti-lockout off so that the set is
   exactly 4,096 rules, the cap), timed request → response (the reload is applied when it answers
   "ok"; past the API's 8 s wait it answers "pending", and the time is then taken when the rule
   list shows the new priorities), then a test run checks the new set's verdict. Baseline: the
   same with 16 rules.

Run as root: ``.venv/bin/python bench/bench_control_plane.py [--adds 200] [--trials 3]``. Never
asserts timings; prints Markdown tables.
"""

import argparse
import http.client
import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as bc
from sentinel_adapters.ebpf.attach import ifindex
from sentinel_adapters.ebpf.blocklist import BpfBlocklist
from sentinel_adapters.ebpf.firewall_compiler import lpm_key
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_agent.lab import VethLab
from sentinel_application.ips_enforcement import IpsEnforcer
from sentinel_domain.ips import IpsEngine, IpsMode, IpsPolicy

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")
XDP_DROP, XDP_PASS = 1, 2


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Agent:
    """The real agent on ``interface`` with ``body`` (YAML sections); a kept-alive REST connection."""

    def __init__(self, interface: str, body: str, workdir: Path) -> None:
        self.port = free_port()
        self.config = workdir / "agent.yaml"
        self.write_config(interface, body, workdir)
        self._log = (workdir / "agent.log").open("w")
        self.proc = subprocess.Popen(
            [AGENT, "-c", str(self.config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"agent did not start: {(workdir / 'agent.log').read_text()[-2000:]}")
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                self.conn.close()
            time.sleep(0.1)

    def write_config(self, interface: str, body: str, workdir: Path) -> None:
        self.config.write_text(
            f"agent:\n  interfaces: [{interface}]\n  http_port: {self.port}\n  grpc_port: {free_port()}\n"
            f"  metrics_port: {free_port()}\n  data_dir: {workdir / 'data'}\n{body}"
        )
        self.config.chmod(0o600)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None

    def close(self) -> None:
        self.conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


class AttachedFirewall:
    """The agent's xdp_firewall, test-run from here through a new fd on its program id."""

    def __init__(self, interface: str) -> None:
        link = json.loads(bc.run("ip", "-j", "-d", "link", "show", "dev", interface))[0]
        prog_id = int(link.get("xdp", {}).get("prog", {}).get("id", 0))
        if not prog_id:
            raise RuntimeError(f"no XDP program on {interface}")
        self.fd = bc.prog_fd_by_id(prog_id)
        self.ifindex = ifindex(interface)
        self.dst = "198.18.255.1"

    def verdict(self, frame: bytes) -> int:
        return prog_test_run(self.fd, frame, ingress_ifindex=self.ifindex).retval

    def frame(self, src: str) -> bytes:
        return bc.udp_frame(src, self.dst, 40000, 5353)

    def close(self) -> None:
        os.close(self.fd)


def timed_add(
    agent: Agent, fw: AttachedFirewall, method: str, path: str, body: Any, frame: bytes
) -> tuple[float, float]:
    """(request sent → first XDP_DROP test run, request sent → response) in seconds."""
    if fw.verdict(frame) != XDP_PASS:
        raise RuntimeError(f"{body} already dropped before the request")
    done = threading.Event()
    result: dict[str, Any] = {}

    def send() -> None:
        result["status"] = agent.request(method, path, body)[0]
        result["response"] = time.perf_counter()
        done.set()

    thread = threading.Thread(target=send)
    start = time.perf_counter()
    thread.start()
    effective = None
    limit = start + 10
    while time.perf_counter() < limit:
        if fw.verdict(frame) == XDP_DROP:
            effective = time.perf_counter()
            break
        time.sleep(0.00005)
    thread.join(timeout=30)
    if result.get("status") != 201 or effective is None:
        raise RuntimeError(f"{path} {body}: status {result.get('status')}, effective {effective}")
    return effective - start, result["response"] - start


# A firewall change waits until the rule set it overwrites has been idle for the adapter's grace
# period (10 ms, BpfFirewallMap.GRACE_SECONDS); back-to-back adds pay it, adds this far apart do not.
PACED_MS = 20


def bench_adds(adds: int) -> None:
    with VethLab(prefix="bcp") as lab, tempfile.TemporaryDirectory(prefix="bcp-") as tmp:
        body = "firewall:\n  mode: block\nratelimit:\n  enabled: false\nids:\n  enabled: false\n"
        body += "ips:\n  mode: block\n  max_blacklist_size: 100000\ndlp:\n  enabled: false\n"
        body += "threatintel:\n  enabled: false\ndns:\n  enabled: false\n"
        agent = Agent(lab.host_if, body, Path(tmp))
        fw = AttachedFirewall(lab.host_if)
        try:
            baseline = []
            for _ in range(adds):
                start = time.perf_counter()
                agent.request("GET", "/healthz")
                baseline.append(time.perf_counter() - start)
            rows: list[tuple[str, list[float], list[float]]] = []
            kinds = (
                ("firewall rule", 0x64400000, 0.0),
                (f"firewall rule, one per {PACED_MS} ms", 0x64600000, PACED_MS / 1000),
                ("IPS blacklist entry", 0x64500000, 0.0),
            )
            for kind, base, pace in kinds:
                effective, response = [], []
                for i in range(adds):
                    time.sleep(pace)
                    src = str(ipaddress.IPv4Address(base + i + 1))
                    if kind.startswith("firewall rule"):
                        method, path = "POST", "/api/v1/firewall/rules"
                        req: dict[str, Any] = {
                            "id": f"bench-{base:x}-{i}",
                            "priority": 1000 + i,
                            "action": "deny",
                        }
                        req["src_ip"] = src
                    else:
                        method, path, req = "POST", "/api/v1/ips/blacklist", {"ip": src}
                    e, r = timed_add(agent, fw, method, path, req, fw.frame(src))
                    effective.append(e)
                    response.append(r)
                rows.append((kind, effective, response))
        finally:
            fw.close()
            agent.close()

    def ms(samples: list[float]) -> list[str]:
        return [f"{percentile(samples, q) * 1000:.2f}" for q in (0.5, 0.99)] + [f"{max(samples) * 1000:.2f}"]

    table = [("`GET /healthz` round trip (baseline)", "—", "—", "—", *ms(baseline))]
    for kind, effective, response in rows:
        table.append((f"add {kind} ({adds} adds)", *ms(effective), *ms(response)))
    bc.print_table(
        "REST add → kernel verdict (ms; target p99 ≤ 5 ms)",
        [
            "request",
            "effective p50",
            "effective p99",
            "effective max",
            "response p50",
            "response p99",
            "response max",
        ],
        table,
    )


def bench_blocklist(count: int, enforcer_count: int, trials: int) -> None:
    networks = [ipaddress.ip_network(ipaddress.IPv4Address(0x0A000000 + i * 3)) for i in range(count)]
    first, last = networks[0].network_address, networks[-1].network_address

    def keys_only() -> BpfBlocklist | None:
        [lpm_key(n) for n in networks]
        return None

    def adapter() -> BpfBlocklist:
        blocklist = BpfBlocklist.standalone()
        start = time.perf_counter()
        for n in networks:
            blocklist.block(n)
        adapter.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
        return blocklist

    def enforcer() -> BpfBlocklist:
        blocklist = BpfBlocklist.standalone()
        policy = IpsPolicy(mode=IpsMode.BLOCK, max_blacklist_size=count)
        ips = IpsEnforcer(IpsEngine(policy), blocklist, time.time)
        start = time.perf_counter()
        for n in networks[:enforcer_count]:
            ips.add_manual(n)
        enforcer.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
        return blocklist

    def bulk() -> BpfBlocklist:
        blocklist = BpfBlocklist.standalone()
        start = time.perf_counter()
        blocklist.block_many(networks)
        bulk.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
        return blocklist

    paths: list[tuple[str, Callable[[], BpfBlocklist | None]]] = [
        ("baseline: build the keys only (`lpm_key` per entry)", keys_only),
        (f"`IpsEnforcer.add_manual` per entry (REST path minus HTTP), {enforcer_count:,} entries", enforcer),
        ("`BpfBlocklist.block` per entry (adapter)", adapter),
        ("`BpfBlocklist.block_many` (one batched write per family)", bulk),
    ]
    results: dict[str, list[float]] = {name: [] for name, _ in paths}
    notes: dict[str, str] = {}
    for _ in range(trials):
        for name, run in paths:
            try:
                start = time.perf_counter()
                blocklist = run()
                elapsed = getattr(run, "elapsed", time.perf_counter() - start)
            except Exception as exc:  # e.g. a kernel without batch ops on LPM tries
                notes[name] = f"failed: {exc}"
                continue
            if blocklist is not None:
                end = last if run is not enforcer else networks[enforcer_count - 1].network_address
                ok = blocklist.drops_packet_from(first) and blocklist.drops_packet_from(end)
                blocklist.close()
                if not ok:
                    notes[name] = "entries not enforced!"
            results[name].append(elapsed)
    rows = []
    base = bc.summarize(results[paths[0][0]])
    for name, run in paths:
        if not results[name]:
            rows.append((name, notes.get(name, "no result"), "", ""))
            continue
        s = bc.summarize(results[name])
        per_entry = s.median / (enforcer_count if run is enforcer else count)
        rows.append(
            (
                name,
                f"{s.median * 1000:,.0f} ({s.low * 1000:,.0f}-{s.high * 1000:,.0f})",
                f"{per_entry * 1e6:.2f}",
                notes.get(name, f"{per_entry / (base.median / count):.1f}x"),
            )
        )
    bc.print_table(
        f"{count:,} IPS blocklist entries into fw_block_v4 (target ≤ 1 s)",
        ["path", "ms (min-max)", "µs/entry", "per entry / baseline"],
        rows,
    )


def rules_yaml(count: int, shift: int) -> str:
    """The firewall section with ``rule_mix(count, 4)``, every priority moved by ``shift`` (so the
    two alternating sets differ in every rule, order and verdicts kept)."""
    lines = ["firewall:", "  mode: block", "  rules:"]
    for rule in bc.rule_mix(count, 4):
        data = rule.to_dict()
        data["priority"] = int(str(data["priority"])) + shift
        lines.append("    - " + json.dumps(data))
    return "\n".join(lines) + "\n"


def bench_reload(trials: int) -> None:
    rows = []
    for count in (16, 4096):
        with VethLab(prefix="bcr") as lab, tempfile.TemporaryDirectory(prefix="bcr-") as tmp:
            rest = "  anti_lockout:\n    enabled: false\n"
            rest += "ratelimit:\n  enabled: false\nids:\n  enabled: false\nips:\n  enabled: false\n"
            rest += "dlp:\n  enabled: false\nthreatintel:\n  enabled: false\ndns:\n  enabled: false\n"
            configs = [rules_yaml(count, 0) + rest, rules_yaml(count, 1) + rest]
            agent = Agent(lab.host_if, configs[0], Path(tmp))
            fw = AttachedFirewall(lab.host_if)
            drop = bc.udp_frame(*bc.DROP_PACKET[4])
            times, checked = [], 0
            try:
                for trial in range(trials * 2):
                    agent.write_config(lab.host_if, configs[(trial + 1) % 2], Path(tmp))
                    start = time.perf_counter()
                    status, body = agent.request("POST", "/api/v1/config/reload")
                    if status == 200 and body.get("status") == "pending":  # the API waits 8 s at most
                        wanted = 1 + (trial + 1) % 2  # r0's priority in the new set
                        while time.perf_counter() - start < 300:
                            rules = agent.request("GET", "/api/v1/firewall/rules")[1]
                            if next(r["priority"] for r in rules if r["id"] == "r0") == wanted:
                                body = {"status": "ok"}
                                break
                            time.sleep(0.05)
                    elapsed = time.perf_counter() - start
                    if status != 200 or body.get("status") != "ok":
                        raise RuntimeError(f"reload of {count} rules: {status} {body}")
                    times.append(elapsed)
                    checked += fw.verdict(drop) == XDP_DROP
                listed = len(agent.request("GET", "/api/v1/firewall/rules")[1])
            finally:
                fw.close()
                agent.close()
        s = bc.summarize(times)
        rows.append(
            (
                f"{count:,} rules" + (" (baseline)" if count == 16 else ""),
                f"{s.median * 1000:,.0f} ({s.low * 1000:,.0f}-{s.high * 1000:,.0f})",
                f"{listed:,}",
                f"{checked}/{len(times)}",
            )
        )
    bc.print_table(
        "REST reload of a firewall rule set (`POST /api/v1/config/reload`, request → response)",
        ["rule set", "ms (min-max)", "rules listed after", "measured deny rule drops after reload"],
        rows,
    )
    breakdown(trials)


def breakdown(trials: int) -> None:
    """Where a 4,096-rule reload goes, in this process: parse + validate the YAML (``load_config``,
    which the reload runs once to validate and once to apply), build the policy, compile + write
    the kernel maps (``BpfFirewallMap.apply`` on a standalone object)."""
    from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
    from sentinel_adapters.ebpf.loader import BpfObject
    from sentinel_application.firewall_rules import FirewallRuleService, FirewallSettings
    from sentinel_infrastructure.config import load_config

    rows = []
    for count in (16, 4096):
        with tempfile.TemporaryDirectory(prefix="bcb-") as tmp:
            path = Path(tmp) / "agent.yaml"
            body = rules_yaml(count, 0) + "  anti_lockout:\n    enabled: false\n"
            path.write_text(f"agent:\n  interfaces: [lo]\n  data_dir: {tmp}\n{body}")
            path.chmod(0o600)
            obj = BpfObject.load_bundled("xdp_firewall")
            kernel = BpfFirewallMap(obj, {})
            steps: dict[str, list[float]] = {"load_config": [], "policy build": [], "kernel apply": []}
            try:
                for _ in range(trials):
                    start = time.perf_counter()
                    loaded = load_config(path)
                    steps["load_config"].append(time.perf_counter() - start)
                    policy = loaded.firewall_policy
                    settings = FirewallSettings(
                        policy.mode, policy.default_policy, (), tuple(loaded.config.firewall.rules)
                    )
                    start = time.perf_counter()
                    service = FirewallRuleService(settings, kernel.apply, time.time_ns)
                    steps["policy build"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    service.install()
                    steps["kernel apply"].append(time.perf_counter() - start)
            finally:
                obj.close()
        for step, samples in steps.items():
            s = bc.summarize(samples)
            rows.append(
                (
                    f"{count:,} rules",
                    step,
                    f"{s.median * 1000:,.0f} ({s.low * 1000:,.0f}-{s.high * 1000:,.0f})",
                )
            )
    bc.print_table("Reload breakdown, in-process (ms, min-max)", ["rule set", "step", "ms"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--enforcer-entries", type=int, default=5_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--adds-only", action="store_true", help="only the REST add latencies")
    args = parser.parse_args()
    print(f"# bench_control_plane: {bc.machine()}")
    bench_adds(args.adds)
    if not args.adds_only:
        bench_blocklist(args.entries, min(args.enforcer_entries, args.entries), args.trials)
        bench_reload(args.trials)


if __name__ == "__main__":
    main()
