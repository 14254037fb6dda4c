"""ns/packet of xdp_firewall (BPF_PROG_TEST_RUN) against an XDP_PASS baseline and xdp-filter.

For 16, 256, 1,024 and 4,096 rules, IPv4 and IPv6, the pass path (a packet no rule matches:
default policy pass, every lookup done) and the drop path (a packet only the last, lowest-priority
deny rule matches), each program runs ``repeat`` = 10^6 times on a fixed 64-byte UDP frame; the
kernel reports the mean ns per run. Every figure is a median over ``--trials`` runs, with min and
max, and XDP_PASS, xdp_firewall and xdp-filter alternate inside each trial so that they share the
machine's noise. "net" = ns minus the XDP_PASS baseline of the same trial.

Rules are a realistic mix (``_common.rule_mix``) built with ``FirewallRule.from_dict`` and written
by ``BpfFirewallMap.apply``; before timing, the domain's reference engine and the kernel must agree
on both packets. xdp-filter (Debian's xdp-tools, installed if missing) runs with its default
policy "allow" (entries drop) on a veth of a namespace of ours, filled through its own CLI with one
entry per rule (``xdp_filter_entry``), cumulatively, so at N rules it holds N entries per address
family; its attached program is then test-run by id. Also: the firewall -> xdp_ratelimit tail-call
chain at 1,024 rules, and each program's verifier-processed instructions and jited size.

Run as root: ``.venv/bin/python bench/bench_xdp_firewall.py [--trials 7] [--repeat 1000000]``.
"""

import argparse
import ipaddress
import os
import time
from collections.abc import Callable

import _common as bc
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import XDP_DROP, XDP_PASS, prog_test_run
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_agent.lab import VethLab
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import FirewallEngine, FirewallMode, FirewallPolicy, FirewallRule, Verdict
from sentinel_domain.ratelimit import RateLimitPolicySet

COUNTS = (16, 256, 1024, 4096)
PATHS = {"pass": XDP_PASS, "drop": XDP_DROP}


def timed(prog_fd: int, frame: bytes, repeat: int, expect: int) -> float:
    """Mean ns per run of ``prog_fd`` on ``frame``; the verdict must be ``expect``."""
    result = prog_test_run(prog_fd, frame, repeat=repeat)
    if result.retval != expect:
        raise RuntimeError(f"program {prog_fd} returned {result.retval}, expected {expect}")
    return float(result.duration_ns)


def packets(family: int) -> dict[str, tuple[PacketHeader, bytes]]:
    out = {}
    for path, (src, dst, sport, dport) in (
        ("pass", bc.PASS_PACKET[family]),
        ("drop", bc.DROP_PACKET[family]),
    ):
        header = PacketHeader(
            ipaddress.ip_address(src), ipaddress.ip_address(dst), Protocol.UDP, sport, dport
        )
        out[path] = (header, bc.udp_frame(src, dst, sport, dport))
    return out


def install(fw: BpfFirewallMap, rules: list[FirewallRule], family: int) -> float:
    """Apply ``rules``; check kernel and reference engine agree on both packets; the apply's ms."""
    policy = FirewallPolicy.build(rules, FirewallMode.BLOCK)
    start = time.perf_counter()
    fw.apply(policy)
    elapsed_ms = (time.perf_counter() - start) * 1000
    engine = FirewallEngine(policy)
    want = {"pass": (Verdict.PASS, None), "drop": (Verdict.DROP, "measured-deny")}
    for path, (header, _frame) in packets(family).items():
        reference, kernel = engine.evaluate(header), fw.decide(header)
        if (reference.verdict, reference.rule_id) != want[path] or kernel != reference:
            raise RuntimeError(f"{len(rules)} rules v{family} {path}: reference {reference}, kernel {kernel}")
    return elapsed_ms


def fill_xdp_filter(xdpf: bc.XdpFilter, count: int, done: int) -> None:
    """Add the entries of rules ``done``-1..``count``-2 of both families (the deny rules once)."""
    for family in (4, 6):
        rules = bc.rule_mix(count, family)
        added = rules[max(0, done - 1) : count - 1] + ([rules[-1]] if done == 0 else [])
        for rule in added:
            kind, value, mode_or_proto = bc.xdp_filter_entry(rule)
            if kind == "ip":
                xdpf.add_ip(value, mode=mode_or_proto)
            else:
                xdpf.add_port(int(value), proto=mode_or_proto)


def sweep(
    args: argparse.Namespace, fw: BpfFirewallMap, base_fd: int, xdpf: bc.XdpFilter, xdpf_fd: int
) -> None:
    rows = []
    net: dict[tuple[int, int, str], bc.Summary] = {}
    versus: dict[tuple[int, int, str], float] = {}
    done = 0
    for count in args.counts:
        fill_xdp_filter(xdpf, count, done)
        done = count
        for family in (4, 6):
            apply_ms = install(fw, bc.rule_mix(count, family), family)
            frames = {path: frame for path, (_h, frame) in packets(family).items()}
            samples: dict[str, dict[str, list[float]]] = {
                p: {"base": [], "fw": [], "xdpf": []} for p in PATHS
            }
            for _ in range(args.trials):
                for path, expect in PATHS.items():
                    s = samples[path]
                    s["base"].append(timed(base_fd, frames[path], args.repeat, XDP_PASS))
                    s["fw"].append(timed(fw.prog_fd, frames[path], args.repeat, expect))
                    s["xdpf"].append(timed(xdpf_fd, frames[path], args.repeat, expect))
            for path, s in samples.items():
                base = bc.summarize(s["base"])
                ours = bc.summarize(s["fw"])
                theirs = bc.summarize(s["xdpf"])
                ours_net = bc.summarize([f - b for f, b in zip(s["fw"], s["base"], strict=True)])
                theirs_net = bc.summarize([x - b for x, b in zip(s["xdpf"], s["base"], strict=True)])
                net[(count, family, path)] = ours_net
                versus[(count, family, path)] = ours_net.ratio(theirs_net)
                rows.append(
                    (
                        f"{count:,}",
                        f"v{family}",
                        path,
                        f"{base.median:.0f}",
                        f"{ours.median:.0f} ({ours.low:.0f}-{ours.high:.0f})",
                        f"{ours_net.median:.0f}",
                        f"{theirs.median:.0f} ({theirs.low:.0f}-{theirs.high:.0f})",
                        f"{theirs_net.median:.0f}",
                        f"{ours_net.ratio(theirs_net):.2f}x",
                        f"{ours.ratio(base):.1f}x",
                        f"{apply_ms:.0f}",
                    )
                )
    headers: tuple[str, ...] = (
        "rules",
        "IP",
        "path",
        "XDP_PASS ns",
        "xdp_firewall ns (min-max)",
        "net",
        "xdp-filter ns (min-max)",
    )
    headers += ("net", "fw/xdp-filter (net)", "fw/XDP_PASS", "apply ms")
    bc.print_table("xdp_firewall vs xdp-filter, ns/packet (median of trials)", headers, rows)
    target_rows = []
    first, last = args.counts[0], args.counts[-1]
    for family in (4, 6):
        for path in PATHS:
            if (1024, family, path) in versus:
                ratio = versus[(1024, family, path)]
                target_rows.append(
                    (
                        "1,024 rules vs xdp-filter",
                        f"v{family}",
                        path,
                        f"{ratio:.2f}x",
                        "<= 1.0x",
                        ratio <= 1.0,
                    )
                )
    for family in (4, 6):
        for path in PATHS:
            if (last, family, path) in net and (first, family, path) in net:
                growth = net[(last, family, path)].ratio(net[(first, family, path)])
                name = f"{last:,} rules / {first:,} rules"
                target_rows.append((name, f"v{family}", path, f"{growth:.2f}x", "<= 1.3x", growth <= 1.3))
    headers = ("target (net ns)", "IP", "path", "measured", "target", "met")
    bc.print_table("Targets", headers, [(*r[:5], "yes" if r[5] else "NO") for r in target_rows])


def chain(args: argparse.Namespace, fw: BpfFirewallMap, base_fd: int, rl: BpfRateLimitMap) -> None:
    """Firewall (1,024 rules) alone vs tail-calling xdp_ratelimit (1,024 source policies), pass path."""
    count = 1024
    rl_rules = [{"id": "own-source-v4", "rate": 10**9, "burst": 10**9, "src_ip": "192.0.2.0/24"}]
    rl_rules.append({"id": "own-source-v6", "rate": 10**9, "burst": 10**9, "src_ip": "2001:db8::/64"})
    for index in range(count - 2):
        family = 4 if index % 2 else 6
        prefix = f"10.{index // 256}.{index % 256}.0/24" if family == 4 else f"fd00:{index:x}::/48"
        rl_rules.append({"id": f"rl{index}", "rate": 10**6, "burst": 10**6, "src_ip": prefix})
    rl.apply(RateLimitPolicySet.from_dict({"default_rate": 10**9, "default_burst": 10**9, "rules": rl_rules}))
    rows = []
    for family in (4, 6):
        install(fw, bc.rule_mix(count, family), family)
        frame = packets(family)["pass"][1]
        base, alone, chained = [], [], []
        for _ in range(args.trials):
            base.append(timed(base_fd, frame, args.repeat, XDP_PASS))
            fw.unchain_ratelimit()
            alone.append(timed(fw.prog_fd, frame, args.repeat, XDP_PASS))
            fw.chain_ratelimit(rl.prog_fd)
            chained.append(timed(fw.prog_fd, frame, args.repeat, XDP_PASS))
        fw.unchain_ratelimit()
        b, a, c = bc.summarize(base), bc.summarize(alone), bc.summarize(chained)
        added = bc.summarize([y - x for x, y in zip(alone, chained, strict=True)])
        rows.append(
            (
                f"v{family}",
                f"{b.median:.0f}",
                f"{a.median:.0f} ({a.low:.0f}-{a.high:.0f})",
                f"{c.median:.0f} ({c.low:.0f}-{c.high:.0f})",
                f"{added.median:.0f}",
                f"{c.ratio(b):.1f}x",
                "<= 250 ns total",
            )
        )
    if rl.counters()["throttled"]:
        raise RuntimeError("the rate limiter throttled: the chain timing includes drops")
    headers = (
        "IP",
        "XDP_PASS ns",
        "firewall ns",
        "firewall+ratelimit ns",
        "chain adds ns",
        "/XDP_PASS",
        "target",
    )
    bc.print_table(
        "firewall.chain_ratelimit (1,024 rules, 1,024 rate-limit policies), pass path", headers, rows
    )


def facts_table(programs: dict[str, int]) -> None:
    rows = []
    for name, fd in programs.items():
        f = bc.program_facts(fd)
        rows.append((name, f.prog_id, f"{f.verified_insns:,}", f"{f.bytes_xlated:,}", f"{f.bytes_jited:,}"))
    headers = ("program", "id", "verifier insns processed", "xlated bytes", "jited bytes")
    bc.print_table("Program complexity (deterministic)", headers, rows)


def with_cleanup(*closers: Callable[[], None]) -> None:
    for close in closers:
        try:
            close()
        except Exception as exc:  # keep closing the rest; report what failed
            print(f"cleanup: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=10**6)
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    args = parser.parse_args()
    bc.pin_thread(bc.bench_cpu())
    print(f"# bench_xdp_firewall: {bc.machine()}, repeat={args.repeat:,}, trials={args.trials}")
    base = BpfObject(bc.build_bpf("xdp_pass"))
    fw = BpfFirewallMap.standalone()
    rl = BpfRateLimitMap.standalone()
    lab = VethLab(prefix="bxf").open()
    xdpf: bc.XdpFilter | None = None
    xdpf_fd = -1
    try:
        xdpf = bc.XdpFilter(lab.netns, lab.peer_if)
        xdpf_fd = bc.prog_fd_by_id(xdpf.prog_id)
        base_fd = base.program_fd("xdp_bench_pass")
        sweep(args, fw, base_fd, xdpf, xdpf_fd)
        chain(args, fw, base_fd, rl)
        facts_table(
            {"xdp_bench_pass": base_fd, "xdp_firewall": fw.prog_fd, "xdp_ratelimit": rl.prog_fd}
            | {f"xdp-filter ({xdpf.entries:,} entries)": xdpf_fd}
        )
    finally:
        with_cleanup(
            *([lambda: os.close(xdpf_fd)] if xdpf_fd >= 0 else []),
            *([xdpf.close] if xdpf else []),
            lab.close,
            fw.close,
            rl.close,
            base.close,
        )


if __name__ == "__main__":
    main()
