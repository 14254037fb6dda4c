"""Rate-limit and IDS-prefilter reloads are atomic: while 40 policy sets are installed one after
another, a forked process runs packets through the real program continuously, and every verdict
is exactly what the old or the new set gives — never one set's prefixes (or keys) with the
other's policies (or config).

Rate limiter: 1,024 prefix rules whose positions (the kernel's policy index) and actions (drop /
pass-and-flag) shift with the version, the program's clock frozen so every packet after the first
is over its limit and reports (policy index, action) in an event. A packet judged with one
version's trie and another's policy array would report a pair neither version gives.
IDS: 300 prefilter keys among 600 ports and a capture length, both shifting with the version;
each packet reports whether it was captured and how many bytes.
"""

import ipaddress
import multiprocessing
import random
import time
from collections.abc import Callable
from typing import Any

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_adapters.ebpf.prog_run import XDP_DROP, prog_test_run
from sentinel_adapters.ebpf.ratelimit_map import BpfRateLimitMap
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.ids import PrefilterKey
from sentinel_domain.ratelimit import RateLimitPolicySet

RELOADS = 40
A = ipaddress.ip_address
Answer = tuple[Any, ...]


def run_reloads(
    apply: Callable[[int], None],
    probe: Callable[[int], Answer],
    count: int,
    answers: dict[tuple[int, int], Answer],
) -> tuple[list[tuple[float, float, int, Answer]], list[tuple[Any, ...]]]:
    """Fork a process probing packets ``0..count-1`` in turn while versions 1..RELOADS are applied;
    returns its samples and those matching no version that could have been live."""
    windows = [[0.0, float("inf")] for _ in range(RELOADS + 1)]
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    receiver, sender_end = ctx.Pipe(duplex=False)

    def child() -> None:
        samples = []
        i = 0
        while not stop.is_set() and len(samples) < 200_000:
            before = time.monotonic()
            answer = probe(i % count)
            samples.append((before, time.monotonic(), i % count, answer))
            i += 1
        sender_end.send(samples)
        sender_end.close()

    process = ctx.Process(target=child)
    process.start()
    try:
        time.sleep(0.2)
        for version in range(1, RELOADS + 1):
            windows[version][0] = time.monotonic()
            apply(version)
            windows[version - 1][1] = time.monotonic()
        time.sleep(0.2)
    finally:
        stop.set()
        samples = receiver.recv() if receiver.poll(60) else []
        process.join(timeout=30)
    mismatches = []
    for before, after, i, answer in samples:
        possible = {
            answers[(v, i)] for v, (first, last) in enumerate(windows) if first <= after and last >= before
        }
        if answer not in possible:
            mismatches.append((i, answer, possible))
    return samples, mismatches


# -- rate limiter ---------------------------------------------------------------------------------
PREFIXES = 1024


def rl_version(version: int) -> RateLimitPolicySet:
    """Rules rotate by 38 positions per version while each prefix's action flips: the policy at
    a prefix's old position in the new array has the opposite action (38 is even), so a packet
    judged with one version's trie and the other's array reports a pair neither gives."""
    order = [(k + 38 * version) % PREFIXES for k in range(PREFIXES)]
    rules = [
        {
            "id": f"v{version}-p{j}",
            "rate": 1,
            "burst": 1,
            "algorithm": "token_bucket",
            "action": "drop" if (j + version) % 2 == 0 else "pass",
            "src_ip": f"10.{j // 256}.{j % 256}.0/24",
        }
        for j in order
    ]
    return RateLimitPolicySet.from_dict({"default_rate": 1, "default_burst": 1, "rules": rules})


def rl_expected(version: int, prefix: int) -> Answer:
    """(policy index in its generation, action code) of a packet from ``prefix`` once over limit."""
    position = (prefix - 38 * version) % PREFIXES
    drop = (prefix + version) % 2 == 0
    return (position + 1, codec.ACTION_DROP if drop else codec.ACTION_LOG)


def test_every_rate_limit_verdict_comes_from_the_old_or_the_new_policy_set() -> None:
    rng = random.Random(11)
    prefixes = rng.sample(range(PREFIXES), 48)
    packets = [
        PacketHeader(
            A(f"10.{j // 256}.{j % 256}.{rng.randrange(1, 255)}"), A("198.18.255.1"), Protocol.UDP, 4000, 53
        )
        for j in prefixes
    ]
    frames = [build_frame(p) for p in packets]
    answers = {(v, i): rl_expected(v, j) for v in range(RELOADS + 1) for i, j in enumerate(prefixes)}
    versions = [rl_version(v) for v in range(RELOADS + 1)]
    rl = BpfRateLimitMap.standalone()
    try:
        rl.apply(versions[0])
        rl.set_test_clock(10**15)  # frozen: no token ever refills
        for frame in frames:  # first sight of each source creates its bucket (and passes)
            prog_test_run(rl.prog_fd, frame)
        reader: list[RingBufferReader] = []

        def probe(i: int) -> Answer:
            if not reader:  # opened in the child, after the fork
                ring = rl._obj.map("rl_events")
                reader.append(RingBufferReader(ring.fd, ring.max_entries))
                reader[0].read_batch()
            result = prog_test_run(rl.prog_fd, frames[i])
            events = codec.decode_packet_events(reader[0].read_batch(), codec.DecodeStats())
            if len(events) != 1:
                return ("events", len(events))
            event = events[0]
            if (result.retval == XDP_DROP) != (event.action == codec.ACTION_DROP):
                return ("verdict", result.retval, event.action)
            return (event.rule_id, event.action)

        samples, mismatches = run_reloads(lambda v: rl.apply(versions[v]), probe, len(frames), answers)
    finally:
        rl.close()
    assert len(samples) > 2_000, "the traffic process barely ran"
    assert not mismatches, f"{len(mismatches)} of {len(samples)} packets saw a mixture: {mismatches[:3]}"
    assert {codec.ACTION_DROP, codec.ACTION_LOG} <= {s[3][1] for s in samples}  # both actions decided


def test_rate_limit_state_survives_a_reload_of_unchanged_policies() -> None:
    policy = {
        "default_rate": 1000,
        "default_burst": 1000,
        "rules": [{"id": "cap", "rate": 1, "burst": 3, "src_ip": "10.9.0.0/16", "algorithm": "token_bucket"}],
    }
    rl = BpfRateLimitMap.standalone()
    try:
        rl.apply(RateLimitPolicySet.from_dict(policy))
        now = 10**15
        src = A("10.9.1.1")
        assert [rl.decide(src, now).passed for _ in range(3)] == [True, True, True]
        rl.apply(RateLimitPolicySet.from_dict(policy))  # a reload: same set, other generation
        assert rl.decide(src, now).passed is False  # the bucket is still empty: not reset
        policy["rules"][0]["burst"] = 5  # type: ignore[index]
        rl.apply(RateLimitPolicySet.from_dict(policy))
        assert rl.decide(src, now + 2 * 10**9).passed is True  # refills under the new parameters
    finally:
        rl.close()


# -- IDS prefilter ---------------------------------------------------------------------------------
PORTS = range(1000, 1600)
PAYLOAD = bytes(range(256)) * 6  # 1,536 bytes


def ids_keys(version: int) -> set[int]:
    return {1000 + (j * 7 + version * 13) % len(PORTS) for j in range(300)}


def ids_capture(version: int) -> int:
    return 64 + 8 * version


def test_every_ids_prefilter_decision_comes_from_the_old_or_the_new_key_set_and_config() -> None:
    rng = random.Random(5)
    ports = rng.sample(list(PORTS), 40)
    packets = [PacketHeader(A("198.18.0.2"), A("198.18.255.1"), Protocol.TCP, 40000, p) for p in ports]
    answers = {
        (v, i): ((ids_capture(v),) if port in ids_keys(v) else (None,))
        for v in range(RELOADS + 1)
        for i, port in enumerate(ports)
    }

    pf = BpfIdsPrefilter.standalone()

    def apply(version: int) -> None:
        keys = [PrefilterKey(Protocol.TCP, port) for port in ids_keys(version)]
        pf.apply(keys, ids_capture(version))

    def probe(i: int) -> Answer:
        captured = pf.inspect(packets[i], PAYLOAD)
        return (None,) if captured is None else (len(captured.payload),)

    try:
        apply(0)
        samples, mismatches = run_reloads(apply, probe, len(packets), answers)
    finally:
        pf.close()
    assert len(samples) > 2_000, "the traffic process barely ran"
    assert not mismatches, f"{len(mismatches)} of {len(samples)} packets saw a mixture: {mismatches[:3]}"
    assert {None} < {s[3][0] for s in samples}  # packets were both captured and let by
