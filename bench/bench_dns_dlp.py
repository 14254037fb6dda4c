"""Speed of the DNS intelligence, domain reputation and DLP engines (pure Python, one core).

Workloads (all seeded, generated in memory):
- DNS: parse a typical response (1 question, CNAME + 3 A records, compressed), match names
  against a 100 000-pattern blocklist, record/lookup in a full 100 000-entry cache;
- reputation: observe query+response pairs for 200 000 distinct names into a 50 000-domain
  engine (so capacity eviction runs);
- DLP: scan SSL_write-like HTTP payloads (0.2-4 KiB, a planted secret in one of four) with the
  hyperscan matcher, with and without per-connection carry state, and the worst case of
  adversarial 4 KiB inputs (long runs that every candidate end falls in).

Run: ``.venv/bin/python bench/bench_dns_dlp.py``. Prints tables; never asserts timings. Each row
is the best of three runs (other load on the machine only ever slows a run down).
"""

import ipaddress
import random
import struct
import time
from collections.abc import Callable

from sentinel_adapters.matching.hyperscan_matcher import HyperscanMatcher
from sentinel_domain.dlp import BUILTIN_PATTERNS, DlpEngine, DlpStateTable
from sentinel_domain.dns import DnsCache, DomainBlocklist, DomainPattern, MatchMode, parse_message
from sentinel_domain.reputation import ReputationConfig, ReputationEngine


def best_of(fn: Callable[[], int], runs: int = 3) -> tuple[float, int]:
    """(seconds of the fastest run, the count the function returned)."""
    best, count = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return best, count


def row(name: str, seconds: float, count: int, unit: str) -> None:
    print(f"  {name:44s} {count / seconds:>14,.0f} {unit}/s   ({seconds * 1e6 / count:8.2f} µs each)")


def dns_response(rng: random.Random) -> bytes:
    name = (
        ".".join(rng.choice(["www", "api", "cdn", "img"]) for _ in range(2))
        + f".site{rng.randrange(10**6)}.com"
    )
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    out = struct.pack("!HHHHHH", rng.randrange(65536), 0x8180, 1, 4, 0, 0) + labels + struct.pack("!HH", 1, 1)
    out += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, 6) + b"\x03edg\xc0\x0c"  # CNAME edg.<name>
    target = 12 + len(labels) + 4 + 12
    for _ in range(3):
        out += struct.pack("!HHHIH", 0xC000 | target, 1, 1, 60, 4) + rng.randbytes(4)
    return out


def bench_dns() -> None:
    rng = random.Random(1)
    messages = [dns_response(rng) for _ in range(20_000)]
    print("DNS intelligence")
    seconds, count = best_of(lambda: sum(1 for m in messages if parse_message(m).answers))
    row("parse response (CNAME + 3 A)", seconds, count, "msg")
    blocklist = DomainBlocklist(
        DomainPattern(f"bad{i}.example{i % 97}.com", MatchMode.SUFFIX if i % 2 else MatchMode.EXACT, "feed")
        for i in range(100_000)
    )
    names = [f"www.host{i}.example{i % 97}.com" for i in range(50_000)] + [
        f"a.bad{i}.example{i % 97}.com" for i in range(0, 50_000, 2)
    ]
    seconds, _ = best_of(lambda: sum(1 for n in names if blocklist.match(n) is not None))
    row("blocklist match, 100k patterns (4-label names)", seconds, len(names), "name")
    cache = DnsCache(max_entries=100_000, min_ttl_secs=60)
    addresses = [ipaddress.ip_address(rng.randrange(1 << 32)) for _ in range(1024)]

    def fill() -> int:
        for i in range(200_000):
            cache.record(f"h{i}.example.com", [(addresses[i % 1024], 300)], float(i))
        return 200_000

    seconds, count = best_of(fill)
    row("cache record (full cache, LRU eviction)", seconds, count, "op")
    seconds, count = best_of(lambda: sum(1 for i in range(200_000) if cache.lookup(f"h{i}.example.com", 1e5)))
    row("cache lookup (half hits)", seconds, 200_000, "op")


def bench_reputation() -> None:
    rng = random.Random(2)
    names = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(6, 16)))
        + ".com"
        for _ in range(200_000)
    ]
    print("Domain reputation")

    def run() -> int:
        engine = ReputationEngine(ReputationConfig(auto_block_enabled=True))
        for i, name in enumerate(names):
            engine.observe_query(name, float(i))
            engine.observe_response(name, 3 if i % 3 else 0, None if i % 3 else 60, i + 0.01)
        return 2 * len(names)

    seconds, count = best_of(run, runs=1)
    row("observe (query+response), 50k cap, evicting", seconds, count, "obs")


def http_payload(rng: random.Random, secret: bytes | None) -> bytes:
    size = rng.choice([200, 600, 1500, 4000])
    head = b"POST /api/v1/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n"
    words = [b"alpha", b"beta", b"gamma", b"delta", b"12345", b"true", b"null", b"value", b"name"]
    body = b""
    while len(body) < size:
        body += b'{"' + rng.choice(words) + b'": "' + rng.choice(words) + b'"}, '
    if secret is not None:
        cut = rng.randrange(len(body))
        body = body[:cut] + b" " + secret + b" " + body[cut:]
    return (head + body)[:4096]


def bench_dlp() -> None:
    rng = random.Random(3)
    secrets = [
        b"4111111111111111",
        b"AKIAIOSFODNN7EXAMPLE",
        b"jane.doe@example.org",
        b"password=hunter2hunter2",
    ]
    payloads = [http_payload(rng, rng.choice(secrets) if i % 4 == 0 else None) for i in range(4000)]
    total = sum(len(p) for p in payloads)
    engine = DlpEngine(BUILTIN_PATTERNS, HyperscanMatcher())
    print(f"DLP (hyperscan matcher, {len(BUILTIN_PATTERNS)} built-in patterns)")
    seconds, found = best_of(lambda: sum(len(engine.scan(p)) for p in payloads))
    row(f"scan payloads, no state ({found} findings)", seconds, len(payloads), "event")
    print(f"  {'':44s} {total / seconds / 2**20:>14,.1f} MiB/s")
    table = DlpStateTable()
    seconds, found = best_of(
        lambda: sum(len(engine.scan(p, table.get((i % 64, 0)))) for i, p in enumerate(payloads))
    )
    row("scan payloads, 64 connections with carry", seconds, len(payloads), "event")
    print("  adversarial 4 KiB inputs (ms per event):")
    adversarial = {
        "Bearer + 4000 low-entropy token chars": b"Bearer " + b"ab" * 2000,
        "password= + 4000 mask characters": b"password=" + b"*" * 4000,
        "4096 digits": b"4" * 4096,
        "'DE89 ' repeated (IBAN-like groups)": b"DE89 " * 819,
        "xoxb- + 4000 slack characters": b"xoxb-" + b"a-" * 2000,
        "eyJ... two 2000-byte JWT segments": b"eyJ" + b"a" * 2000 + b".eyJ" + b"b" * 2000 + b".c",
    }
    for name, data in adversarial.items():
        seconds, _ = best_of(lambda data=data: len(engine.scan(data)))
        print(f"    {name:42s} {seconds * 1000:8.2f} ms")


if __name__ == "__main__":
    bench_dns()
    bench_reputation()
    bench_dlp()
