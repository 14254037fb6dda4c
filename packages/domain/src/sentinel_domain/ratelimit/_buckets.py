"""The four per-source bucket algorithms, in the integer arithmetic the kernel uses.

Every quantity is a non-negative integer that fits in a u64 (u32 for the sliding-window slots);
``//`` is unsigned integer division, ``%`` its remainder. Time is int nanoseconds from one
monotonic clock. ``elapsed`` is always the *saturating* difference ``now - t if now > t else 0``,
so a clock that steps back never refills or drains anything (the kernel must not wrap).

Each ``step_*`` mutates the bucket and returns True when the packet is within the limit.
"""

from dataclasses import dataclass, field

NS_PER_SEC = 1_000_000_000
SLOT_COUNT = 8
SLOT_NS = NS_PER_SEC // SLOT_COUNT  # 125 ms
LEAKY_RESET_NS = 10 * NS_PER_SEC


def elapsed_ns(now_ns: int, then_ns: int) -> int:
    """``now - then`` saturating at 0."""
    return now_ns - then_ns if now_ns > then_ns else 0


@dataclass(slots=True)
class TokenBucket:
    tokens: int
    last_refill_ns: int


@dataclass(slots=True)
class FixedWindow:
    count: int
    window_start_ns: int


@dataclass(slots=True)
class SlidingWindow:
    slots: list[int] = field(default_factory=lambda: [0] * SLOT_COUNT)
    current_slot: int = 0
    slot_start_ns: int = 0
    window_total: int = 0


@dataclass(slots=True)
class LeakyBucket:
    level: int
    last_update_ns: int


Bucket = TokenBucket | FixedWindow | SlidingWindow | LeakyBucket


def fresh_token_bucket(burst: int, now_ns: int) -> TokenBucket:
    """First packet of a source: it passes and leaves ``burst - 1`` tokens."""
    return TokenBucket(burst - 1, now_ns)


def step_token_bucket(b: TokenBucket, ns_per_token: int, burst: int, now_ns: int) -> bool:
    """Token bucket (``ns_per_token = 1e9 // rate``)::

        tokens = min(tokens, burst)            # a reload may have lowered the burst
        new = elapsed(now, last) // ns_per_token
        if new > 0:
            tokens = burst if new >= burst - tokens else tokens + new   # = min(burst, tokens + new)
            last   = last + new * ns_per_token                          # (*)
        if tokens > 0: tokens -= 1; PASS  else: DROP

    (*) Deliberate improvement over the contract's ``last = now``: only the time actually turned
    into tokens is consumed, so the fractional remainder (< ns_per_token) carries over and the
    long-run rate is exactly one token per ``ns_per_token`` whatever the packet spacing. The
    ``new >= burst - tokens`` form avoids ``tokens + new`` overflowing a u64. Tokens above a burst
    lowered by a reload are clamped at once, so a lower burst binds from the next packet.
    """
    b.tokens = min(b.tokens, burst)
    new = elapsed_ns(now_ns, b.last_refill_ns) // ns_per_token
    if new > 0:
        b.tokens = burst if b.tokens >= burst or new >= burst - b.tokens else b.tokens + new
        b.last_refill_ns += new * ns_per_token
    if b.tokens > 0:
        b.tokens -= 1
        return True
    return False


def fresh_fixed_window(now_ns: int) -> FixedWindow:
    """First packet: passes, the window starts now with count 1."""
    return FixedWindow(1, now_ns)


def step_fixed_window(b: FixedWindow, limit: int, now_ns: int) -> bool:
    """Fixed 1 s window (``limit = rate``)::

    if elapsed(now, start) >= 1e9: count = 1; start = now; PASS
    elif count < limit: count += 1; PASS
    else: DROP
    """
    if elapsed_ns(now_ns, b.window_start_ns) >= NS_PER_SEC:
        b.count = 1
        b.window_start_ns = now_ns
        return True
    if b.count < limit:
        b.count += 1
        return True
    return False


def fresh_sliding_window(now_ns: int) -> SlidingWindow:
    """First packet: passes; slot 0 holds it, the slot grid is anchored at ``now``."""
    bucket = SlidingWindow(current_slot=0, slot_start_ns=now_ns, window_total=1)
    bucket.slots[0] = 1
    return bucket


def step_sliding_window(b: SlidingWindow, limit: int, now_ns: int) -> bool:
    """Sliding 1 s window of 8 slots of 125 ms (``limit = rate``)::

        k = elapsed(now, slot_start) // 125_000_000
        if k >= 8:                              # the whole window is stale
            slots = [0]*8; window_total = 0; current = 0; slot_start = now   # re-anchor the grid
        elif k > 0:
            repeat k times (at most 7):         # a bounded loop for the verifier
                current = (current + 1) % 8
                window_total -= slots[current]; slots[current] = 0
            slot_start += k * 125_000_000       # stay on the grid
        if window_total < limit: slots[current] += 1; window_total += 1; PASS
        else: DROP

    Invariant: ``window_total == sum(slots)``, the packets passed in the current slot and the
    seven before it.
    """
    k = elapsed_ns(now_ns, b.slot_start_ns) // SLOT_NS
    if k >= SLOT_COUNT:
        b.slots = [0] * SLOT_COUNT
        b.window_total = 0
        b.current_slot = 0
        b.slot_start_ns = now_ns
    elif k > 0:
        for _ in range(k):
            b.current_slot = (b.current_slot + 1) % SLOT_COUNT
            b.window_total -= b.slots[b.current_slot]
            b.slots[b.current_slot] = 0
        b.slot_start_ns += k * SLOT_NS
    if b.window_total < limit:
        b.slots[b.current_slot] += 1
        b.window_total += 1
        return True
    return False


def fresh_leaky_bucket(now_ns: int) -> LeakyBucket:
    """First packet: passes and leaves level 1."""
    return LeakyBucket(1, now_ns)


def step_leaky_bucket(b: LeakyBucket, rate: int, capacity: int, now_ns: int) -> bool:
    """Leaky bucket draining ``rate`` packets/s, holding ``capacity`` (= burst)::

        e = elapsed(now, last)
        if e >= 10 s: level = 0; last = now
        else:
            scaled  = e * rate                 # < 1e10 * 1e9 < 2**64
            drained = scaled // 1e9
            if drained >= level: level = 0; last = now                       # (a)
            elif drained > 0:
                level -= drained
                last = now - (scaled % 1e9) // rate                          # (b)
            # drained == 0 < level: nothing changes, last is kept            # (c)
        if level + 1 <= capacity: level += 1; PASS  else: DROP

    Deliberate improvements over the contract's ``level -= e*rate/1e9`` with ``last = now``:
    (b) keeps the undrained fraction of time, (c) keeps ``last`` when nothing drained, so packets
    spaced closer than ``1e9 / rate`` ns cannot stall the drain forever; (a) an empty bucket banks
    nothing, as a leaky bucket should.
    """
    e = elapsed_ns(now_ns, b.last_update_ns)
    if e >= LEAKY_RESET_NS:
        b.level = 0
        b.last_update_ns = now_ns
    else:
        scaled = e * rate
        drained = scaled // NS_PER_SEC
        if drained >= b.level:
            b.level = 0
            b.last_update_ns = now_ns
        elif drained > 0:
            b.level -= drained
            b.last_update_ns = now_ns - (scaled % NS_PER_SEC) // rate
    if b.level + 1 <= capacity:
        b.level += 1
        return True
    return False
