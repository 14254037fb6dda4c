"""Reloads are atomic: while 50 different 4,096-rule sets are installed one after another, packets
run through the real program continuously, and every verdict is exactly what the old or the new
rule set gives — never a mixture of two sets' maps."""

import ipaddress
import multiprocessing
import random
import time
from typing import Any

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.prog_run import XDP_DROP, prog_test_run
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import FirewallEngine, FirewallMode, FirewallPolicy, FirewallRule

RELOADS = 50
RULES = 4096


def rule_set(version: int) -> FirewallPolicy:
    """4,096 rules whose addresses, ports and actions all shift with ``version``, so a packet
    classified with fields from two versions lands on a rule neither version would pick."""
    rules = []
    for j in range(RULES):
        rules.append(
            FirewallRule.from_dict(
                {
                    "id": f"v{version}-r{j}",
                    "priority": 1 + (j * 7 + version) % 5000,
                    "action": ("deny", "allow", "log")[(j + version) % 3],
                    "protocol": "tcp",
                    "src_ip": f"198.18.{(j + version * 3) % 256}.0/24",
                    "dst_port": 1000 + (j * 31 + version * 17) % 4096,
                }
            )
        )
    return FirewallPolicy.build(rules, FirewallMode.BLOCK)


def expected(policy: FirewallPolicy, packets: list[PacketHeader]) -> list[tuple[str, int]]:
    """(verdict, rule index) the reference engine gives each packet under ``policy``."""
    engine = FirewallEngine(policy)
    index_of = {r.id: i for i, r in enumerate(policy.rules)}
    out = []
    for packet in packets:
        decision = engine.evaluate(packet)
        out.append(
            (decision.verdict.value, index_of[decision.rule_id] if decision.rule_id else codec.NO_RULE)
        )
    return out


def send_traffic(prog_fd: int, packets: list[PacketHeader], stop: Any, out: Any) -> None:
    """Child process (forked, so it shares the program): run packets until told to stop."""
    frames = [build_frame(p) for p in packets]
    samples = []
    i = 0
    while not stop.is_set() and len(samples) < 300_000:
        before = time.monotonic()
        result = prog_test_run(prog_fd, frames[i % len(frames)])
        meta = codec.decode_xdp_meta(result.data_out)
        verdict = (
            "drop" if result.retval == XDP_DROP else "log" if meta and meta[1] == codec.ACTION_LOG else "pass"
        )
        samples.append((before, time.monotonic(), i % len(frames), verdict, meta[0] if meta else -1))
        i += 1
    out.send(samples)
    out.close()


def test_every_packet_is_judged_by_the_old_or_the_new_rule_set() -> None:
    policies = [rule_set(v) for v in range(RELOADS + 1)]
    rng = random.Random(7)
    packets = [
        PacketHeader(
            ipaddress.ip_address(f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}"),
            ipaddress.ip_address("198.18.255.1"),
            Protocol.TCP,
            40000,
            1000 + rng.randrange(4096),
        )
        for _ in range(32)
    ]
    fw = BpfFirewallMap.standalone()
    fw.report_drops_in_metadata()  # the sender reads the rule and generation of drops too
    fw.apply(policies[0])
    # Version v can be seen from the moment apply(v) is called until apply(v + 1) returns.
    windows = [[0.0, float("inf")] for _ in policies]
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    receiver, sender_end = ctx.Pipe(duplex=False)
    sender = ctx.Process(target=send_traffic, args=(fw.prog_fd, packets, stop, sender_end))
    sender.start()
    try:
        time.sleep(0.2)
        for version in range(1, RELOADS + 1):
            windows[version][0] = time.monotonic()
            fw.apply(policies[version])
            windows[version - 1][1] = time.monotonic()
        time.sleep(0.2)
    finally:
        stop.set()
        samples = receiver.recv() if receiver.poll(60) else []
        sender.join(timeout=30)
        fw.close()

    answers = {}
    for v, policy in enumerate(policies):
        for i, answer in enumerate(expected(policy, packets)):
            answers[(v, i)] = answer
    mismatches = []
    for before, after, i, verdict, index in samples:
        possible = {
            answers[(v, i)] for v, (first, last) in enumerate(windows) if first <= after and last >= before
        }
        if (verdict, index) not in possible:
            mismatches.append((before, i, verdict, index, possible))
    assert len(samples) > 5_000, "the traffic process barely ran"
    assert not mismatches, f"{len(mismatches)} of {len(samples)} packets saw a mixture: {mismatches[:3]}"
    assert {"drop", "pass"} <= {s[3] for s in samples}  # the rule sets really decide
