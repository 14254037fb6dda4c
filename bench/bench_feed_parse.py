"""Threat-intel feed parsing speed: a 1,000,000-line plain IPv4 feed generated in memory.

Target (brief): parse in <= 2 s on the project's 2-core machine kind. Prints a table with the
median, min and max of several runs, lines per second, and two baselines measured in the same
run (decoding + splitting the feed into lines; ``ipaddress.IPv4Address`` on every line, which is
what a naive parser would cost), plus the time to merge the result into an ``IocDatabase``.

Run: ``.venv/bin/python bench/bench_feed_parse.py [lines] [runs]``. Never asserts timings.
"""

import ipaddress
import statistics
import sys
import time
from collections.abc import Callable

from sentinel_domain.threatintel import FeedIocs, IocDatabase, ParseOptions, parse_plain


def make_feed(lines: int) -> bytes:
    """Distinct routable addresses (first octet 1-200), a comment header, CRLF-free."""
    header = "# synthetic blocklist for bench_feed_parse\n# one IPv4 address per line\n"
    body = "\n".join(
        f"{1 + (i >> 16) % 200}.{(i >> 8) & 255}.{i & 255}.{(i * 7) % 250 + 1}" for i in range(lines)
    )
    return (header + body + "\n").encode()


def measure(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    data = make_feed(lines)
    options = ParseOptions(feed_id="bench")
    result = parse_plain(data, options)  # warm-up, and a sanity check of the output
    if len(result.iocs) != lines or result.error_count:
        raise SystemExit(f"unexpected parse result: {len(result.iocs)} IOCs, {result.error_count} errors")

    sample = data.decode().split("\n")[2:100_002]
    rows = [
        ("parse_plain (whole feed)", measure(lambda: parse_plain(data, options), runs), lines),
        ("baseline: decode + split lines", measure(lambda: data.decode().split("\n"), runs), lines),
        (
            "baseline: ipaddress per line (100k)",
            measure(lambda: [ipaddress.IPv4Address(s) for s in sample], max(1, runs // 2)),
            len(sample),
        ),
        (
            "IocDatabase.build (merge)",
            measure(
                lambda: IocDatabase.build(
                    [FeedIocs("bench", result.iocs, max_iocs=lines)], 0.0, max_total=lines
                ),
                max(1, runs // 2),
            ),
            lines,
        ),
    ]
    print(f"feed: {lines:,} lines, {len(data) / 1e6:.1f} MB; {runs} runs (median / min / max)")
    print(f"{'step':<38} {'median s':>9} {'min s':>8} {'max s':>8} {'lines/s':>13}")
    for name, times, count in rows:
        med = statistics.median(times)
        print(f"{name:<38} {med:>9.3f} {min(times):>8.3f} {max(times):>8.3f} {count / med:>13,.0f}")
    parse_med = statistics.median(rows[0][1])
    print(
        f"parse ÷ split baseline: {parse_med / statistics.median(rows[1][1]):.1f}x; target <= 2 s: "
        f"{'met' if parse_med <= 2.0 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
