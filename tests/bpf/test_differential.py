"""The kernel programs agree with the domain's reference engines, packet by packet.

Seeded generators (reproducible; the seed is in each assertion message): 200 random firewall
rule sets x 100 packets, 16 large rule sets (the matches spread over the classifier's 64-rule
words) x 60 packets, and 4 rate-limit algorithms x 10 policy sets x 500 timed packets.
"""

import ipaddress
import random
import socket

from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_agent.lab import VethLab
from sentinel_domain.common import PacketHeader
from sentinel_domain.firewall import (
    DefaultPolicy,
    FirewallEngine,
    FirewallMode,
    FirewallPolicy,
    FirewallRule,
)
from sentinel_domain.ratelimit import RateLimitPolicySet
from sentinel_testkit.fakes.ratelimit_map import InMemoryRateLimitMap

A = ipaddress.ip_address
NETS = [
    "198.18.0.0/15",
    "198.18.0.0/16",
    "198.18.1.0/24",
    "198.18.1.0/25",
    "198.18.1.7/32",
    "198.19.0.0/16",
    "203.0.113.0/24",
    "0.0.0.0/0",
    "2001:db8::/32",
    "2001:db8:1::/48",
    "2001:db8:1::/64",
    "2001:db8:1::7/128",
    "::/0",
]
HOSTS4 = ["198.18.1.7", "198.18.1.8", "198.18.1.200", "198.18.2.1", "198.19.5.5", "203.0.113.9", "192.0.2.1"]
HOSTS6 = ["2001:db8:1::7", "2001:db8:1::8", "2001:db8:1:0:1::1", "2001:db8:2::1", "2001:db9::1"]
PORTS = [22, 53, 80, 443, 1000, 1500, 2000, 8080, 65535, 0]


def random_port_spec(rng: random.Random) -> object:
    low = rng.choice(PORTS)
    kind = rng.random()
    if kind < 0.4:
        return low
    high = min(65535, low + rng.choice([0, 1, 100, 1000, 30000]))
    return f"{low}-{high}" if kind < 0.7 else {"start": low, "end": high}


def random_rule(rng: random.Random, index: int, iface: str) -> dict[str, object]:
    rule: dict[str, object] = {
        "id": f"r{index}",
        "priority": rng.randint(1, 30),
        "action": rng.choice(["allow", "deny", "log"]),
    }
    family = rng.choice([4, 6, None])
    nets = [n for n in NETS if family and ipaddress.ip_network(n).version == family]
    if nets and rng.random() < 0.6:
        rule["src_ip"] = rng.choice(nets)
    if nets and rng.random() < 0.4:
        rule["dst_ip"] = rng.choice(nets)
    if rng.random() < 0.5:
        rule["protocol"] = rng.choice(["tcp", "udp", "icmp", "icmpv6", "any"])
    if rng.random() < 0.3:
        rule["src_port"] = random_port_spec(rng)
    if rng.random() < 0.5:
        rule["dst_port"] = random_port_spec(rng)
    if rng.random() < 0.2:
        rule["vlan_id"] = rng.choice([0, 5, 7])
    if rng.random() < 0.1:
        rule["scope"] = rng.choice([iface, f"interface:{iface}", "interface:eth9"])
    if rng.random() < 0.1:
        rule["enabled"] = False
    return rule


def random_packet(rng: random.Random, iface: str) -> PacketHeader:
    hosts = HOSTS4 if rng.random() < 0.6 else HOSTS6
    proto = rng.choice([6, 17, 1, 58, 47])
    has_ports = proto in (6, 17) and rng.random() > 0.1  # 10 %: non-first fragments
    return PacketHeader(
        src=A(rng.choice(hosts)),
        dst=A(rng.choice(hosts)),
        protocol=proto,
        src_port=rng.choice(PORTS) if has_ports else None,
        dst_port=rng.choice(PORTS) if has_ports else None,
        vlan_id=rng.choice([0, 0, 5, 7, 9]),
        interface=rng.choice(["", iface]),
    )


def test_firewall_kernel_equals_engine_on_20000_packets() -> None:
    # Interface scopes need a real ingress device for the test run: a veth of our own.
    lab = VethLab(prefix="dif").open()
    iface = lab.host_if
    fw = BpfFirewallMap.standalone({iface: socket.if_nametoindex(iface)})
    compared = 0
    try:
        for seed in range(200):
            rng = random.Random(seed)
            rules = [FirewallRule.from_dict(random_rule(rng, i, iface)) for i in range(rng.randint(1, 40))]
            policy = FirewallPolicy.build(
                rules, rng.choice(list(FirewallMode)), rng.choice(list(DefaultPolicy))
            )
            fw.apply(policy)
            engine = FirewallEngine(policy)
            for n in range(100):
                packet = random_packet(rng, iface)
                assert fw.decide(packet) == engine.evaluate(packet), f"seed {seed} packet {n}: {packet}"
                compared += 1
    finally:
        fw.close()
        lab.close()
    assert compared == 20_000


def filler_rule(rng: random.Random, index: int) -> dict[str, object]:
    """A rule no generated packet matches, constraining one field or two (so it anchors anywhere)."""
    rule: dict[str, object] = {"id": f"f{index}", "priority": rng.randint(1, 20), "action": "deny"}
    kind = rng.randrange(5)
    if kind == 0:
        rule["src_ip"] = f"100.64.{rng.randrange(256)}.{rng.randrange(256)}/32"
    elif kind == 1:
        rule["dst_ip"] = f"fd77::{rng.randrange(65536):x}/128"
        rule["dst_port"] = rng.choice(PORTS[:-1])
    elif kind == 2:
        rule |= {"protocol": rng.choice(["tcp", "udp"]), "dst_port": f"{4400 + rng.randrange(50)}-4460"}
    elif kind == 3:
        rule["vlan_id"] = rng.randint(100, 4000)
    else:
        rule |= {"protocol": "udp", "src_port": rng.randint(30000, 40000)}
    return rule


def test_firewall_kernel_equals_engine_with_matches_spread_over_words() -> None:
    """Hundreds of never-matching rules ahead of the random ones push the first match into late
    words: the per-word anchor and summary pruning must never hide it."""
    lab = VethLab(prefix="dfw").open()
    iface = lab.host_if
    fw = BpfFirewallMap.standalone({iface: socket.if_nametoindex(iface)})
    words_hit: set[int] = set()
    try:
        for seed in range(16):
            rng = random.Random(1000 + seed)
            data = [filler_rule(rng, i) for i in range(rng.randint(100, 1500))]
            for i in range(rng.randint(20, 60)):
                rule = random_rule(rng, i, iface)
                rule["priority"] = rng.randint(1, 30)
                data.insert(rng.randrange(len(data) + 1), rule)
            rules = [FirewallRule.from_dict(d) for d in data]
            policy = FirewallPolicy.build(
                rules, rng.choice(list(FirewallMode)), rng.choice(list(DefaultPolicy))
            )
            fw.apply(policy)
            engine = FirewallEngine(policy)
            index = {rule.id: i for i, rule in enumerate(policy.rules)}
            for n in range(60):
                packet = random_packet(rng, iface)
                want = engine.evaluate(packet)
                assert fw.decide(packet) == want, f"seed {seed} packet {n}: {packet}"
                if want.rule_id is not None:
                    words_hit.add(index[want.rule_id] // 64)
    finally:
        fw.close()
        lab.close()
    assert len(words_hit) >= 10, f"matches fell in too few words to test pruning: {sorted(words_hit)}"


def random_policies(rng: random.Random, algorithm: str) -> RateLimitPolicySet:
    rules = []
    for i, net in enumerate(
        rng.sample(["198.18.1.0/24", "198.18.1.7/32", "2001:db8:1::/48", "198.18.0.0/16"], rng.randint(0, 3))
    ):
        rules.append(
            {
                "id": f"p{i}",
                "src_ip": net,
                "rate": rng.randint(1, 50),
                "burst": rng.randint(1, 20),
                "algorithm": algorithm
                if rng.random() < 0.8
                else rng.choice(["token_bucket", "fixed_window", "sliding_window", "leaky_bucket"]),
                "action": rng.choice(["drop", "pass"]),
            }
        )
    return RateLimitPolicySet.from_dict(
        {
            "default_rate": rng.randint(1, 50),
            "default_burst": rng.randint(1, 20),
            "default_algorithm": algorithm,
            "rules": rules,
        }
    )


def test_ratelimit_kernel_equals_model_for_every_algorithm() -> None:
    compared = 0
    for algorithm in ("token_bucket", "fixed_window", "sliding_window", "leaky_bucket"):
        for seed in range(10):
            rng = random.Random(f"{algorithm}-{seed}")
            policies = random_policies(rng, algorithm)
            kernel, model = BpfRateLimitMap.standalone(), InMemoryRateLimitMap()
            try:
                kernel.apply(policies)
                model.apply(policies)
                now = 10**12 + rng.randint(0, 10**9)
                sources = [A(h) for h in rng.sample(HOSTS4 + HOSTS6, 4)]
                for n in range(500):
                    # Mostly tight spacing (hits the limits), sometimes long pauses (refills, resets).
                    now += rng.choice([0, 1, 1000, 10**6, 10**7, 5 * 10**7, 2 * 10**8, 10**9, 11 * 10**9])
                    src = rng.choice(sources)
                    got, want = kernel.decide(src, now), model.decide(src, now)
                    assert got == want, f"{algorithm} seed {seed} packet {n}: {src} at {now}"
                    compared += 1
            finally:
                kernel.close()
    assert compared == 20_000
