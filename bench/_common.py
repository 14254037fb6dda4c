"""Shared by the XDP benches: builds, CPU pinning, statistics, tables, program facts, xdp-filter.

Build outputs go to a temporary directory, never into the repository. The only thing done at
import time is giving prototypes to two libbpf calls that the project's binding module
(``sentinel_adapters.ebpf._libbpf``) does not declare yet, on that module's own library handle;
that is all ``ctypes`` is used for here.
"""

import ctypes
import ipaddress
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sentinel_adapters.ebpf import _libbpf
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.maps import BPF_MAP_TYPE_PERCPU_ARRAY, BpfMap
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import FirewallRule

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
BUILD = Path(tempfile.gettempdir()) / "ebpfsentinel-bench"
XDP_FILTER_PINS = Path("/sys/fs/bpf/xdp-filter")
_lib = _libbpf.lib
for _name, _restype, _argtypes in (
    ("bpf_prog_get_fd_by_id", ctypes.c_int, [ctypes.c_uint32]),
    ("bpf_obj_get", ctypes.c_int, [ctypes.c_char_p]),
):
    getattr(_lib, _name).restype = _restype
    getattr(_lib, _name).argtypes = _argtypes


def run(*cmd: str, timeout: float = 60, check: bool = True) -> str:
    """Run ``cmd``; its stdout. A failure raises with the command's stderr in the message."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _stale(target: Path, sources: Iterable[Path]) -> bool:
    return not target.exists() or any(s.stat().st_mtime > target.stat().st_mtime for s in sources)


def build_bpf(name: str) -> Path:
    """Compile ``bench/bpf/<name>.bpf.c`` (CO-RE, against this kernel's BTF); the object's path."""
    BUILD.mkdir(parents=True, exist_ok=True)
    vmlinux = BUILD / "vmlinux.h"
    if not vmlinux.exists():
        header = run("bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c")
        vmlinux.write_text(header)
    source, target = BENCH / "bpf" / f"{name}.bpf.c", BUILD / f"{name}.bpf.o"
    if _stale(target, [source]):
        flags = ["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", "-Wall", "-Werror", f"-I{BUILD}"]
        run("clang", *flags, "-c", str(source), "-o", str(target))
    return target


def build_c(name: str) -> Path:
    """Compile ``bench/c/<name>.c`` with gcc against libbpf-dev; the executable's path."""
    BUILD.mkdir(parents=True, exist_ok=True)
    source, target = BENCH / "c" / f"{name}.c", BUILD / name
    headers = list((REPO / "bpf" / "include" / "sentinel").glob("*.h"))
    if _stale(target, [source, *headers]):
        include = f"-I{REPO / 'bpf' / 'include'}"
        run("gcc", "-O2", "-Wall", "-Werror", include, str(source), "-o", str(target), "-lbpf")
    return target


def ensure_xdp_tools() -> None:
    """Install Debian's xdp-tools (xdp-filter) when it is missing."""
    if shutil.which("xdp-filter"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "xdp-tools"]
    if subprocess.run(install, capture_output=True, env=env, timeout=600, check=False).returncode:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600, check=True)
        subprocess.run(install, capture_output=True, env=env, timeout=600, check=True)


def bench_cpu() -> int:
    """The CPU the measured work is pinned to: the last one (CPU 0 takes most interrupts)."""
    return max(os.sched_getaffinity(0))


def pin_thread(cpu: int) -> None:
    """Pin the calling thread (Linux: pid 0 of sched_setaffinity is the calling thread)."""
    os.sched_setaffinity(0, {cpu})


@dataclass(frozen=True, slots=True)
class Summary:
    median: float
    low: float
    high: float

    def ratio(self, base: "Summary") -> float:
        return self.median / base.median if base.median else float("inf")


def summarize(samples: Sequence[float]) -> Summary:
    """Median, min and max of at least one sample."""
    return Summary(statistics.median(samples), min(samples), max(samples))


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A Markdown table (pastes straight into docs/performance.md)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(f"\n### {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def machine() -> str:
    """One line: CPUs, CPU model, kernel."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = Path("/proc/loadavg").read_text().split()[0]
    return (
        f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, pinned to CPU {bench_cpu()}, "
        f"load average {load} at start"
    )


def python_loop_ns() -> float:
    """Calibration for Python figures: ns per iteration of ``for i in range(n): total += i``."""
    best = float("inf")
    for _ in range(5):
        total, start = 0, time.perf_counter_ns()
        for i in range(200_000):
            total += i
        best = min(best, (time.perf_counter_ns() - start) / 200_000)
    return best


@dataclass(frozen=True, slots=True)
class ProgramFacts:
    """Deterministic complexity figures of a loaded program."""

    prog_id: int
    verified_insns: int
    bytes_xlated: int
    bytes_jited: int


def program_facts(prog_fd: int) -> ProgramFacts:
    """Verifier-processed instructions (fdinfo) and translated/jited sizes (bpftool prog show)."""
    info = {}
    for line in Path(f"/proc/self/fdinfo/{prog_fd}").read_text().splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    prog_id = int(info["prog_id"])
    shown = json.loads(run("bpftool", "prog", "show", "id", str(prog_id), "--json"))
    return ProgramFacts(
        prog_id, int(info.get("verified_insns", -1)), int(shown["bytes_xlated"]), int(shown["bytes_jited"])
    )


def prog_fd_by_id(prog_id: int) -> int:
    """A new fd on the loaded program ``prog_id`` (close it with os.close)."""
    return _libbpf.check(_lib.bpf_prog_get_fd_by_id(prog_id), f"bpf_prog_get_fd_by_id({prog_id})")


def udp_frame(src: str, dst: str, sport: int, dport: int, size: int = 64) -> bytes:
    """An Ethernet/IP/UDP frame of exactly ``size`` bytes (payload fills the difference)."""
    header = PacketHeader(ipaddress.ip_address(src), ipaddress.ip_address(dst), Protocol.UDP, sport, dport)
    headers = 14 + (20 if header.src.version == 4 else 40) + 8  # Ethernet + IP + UDP
    frame = build_frame(header, payload=b"\xa5" * max(0, size - headers))
    if len(frame) != size:
        raise ValueError(f"a UDP frame {src}->{dst} cannot be {size} bytes (it needs {headers})")
    return frame


def in_netns(netns: str, *cmd: str, timeout: float = 60) -> str:
    """Run ``cmd`` in ``netns`` via nsenter (unlike ``ip netns exec``, bpffs stays visible)."""
    return run("nsenter", f"--net=/var/run/netns/{netns}", "--", *cmd, timeout=timeout)


def xdp_prog_id(netns: str, interface: str) -> int:
    """Id of the XDP program attached to ``interface`` in ``netns`` (0 = none)."""
    link = json.loads(in_netns(netns, "ip", "-j", "-d", "link", "show", "dev", interface))[0]
    return int(link.get("xdp", {}).get("prog", {}).get("id", 0))


class XdpFilter:
    """Debian's xdp-filter driven through its own CLI on one interface of a namespace of ours.

    ``policy`` is its *default* verdict: "allow" (the default here) passes everything except
    packets that match an entry, which it drops.

    It keeps its maps pinned under /sys/fs/bpf/xdp-filter (one instance per machine); ``close``
    unloads it, which removes them, and removes libxdp's empty /sys/fs/bpf/xdp if we created it.
    """

    def __init__(self, netns: str, interface: str, policy: str = "allow") -> None:
        ensure_xdp_tools()
        if XDP_FILTER_PINS.exists():
            raise RuntimeError(
                f"{XDP_FILTER_PINS} exists: an xdp-filter is loaded (or a killed bench left it; "
                f"then remove it with rm -r {XDP_FILTER_PINS})"
            )
        self.netns, self.interface = netns, interface
        self._libxdp_dir_existed = Path("/sys/fs/bpf/xdp").exists()
        self.entries = 0
        self._cli("load", "--mode", "native", "--policy", policy, self.interface)
        try:
            self.prog_id = xdp_prog_id(netns, interface)
        except Exception:
            self.close()
            raise

    def _cli(self, *args: str) -> None:
        in_netns(self.netns, "xdp-filter", *args, timeout=30)

    def add_ip(self, address: str, mode: str = "src") -> None:
        self._cli("ip", address, "--mode", mode)
        self.entries += 1

    def add_port(self, port: int, proto: str, mode: str = "dst") -> None:
        self._cli("port", str(port), "--mode", mode, "--proto", proto)
        self.entries += 1

    def dropped(self) -> int:
        """XDP_DROP packets summed over CPUs (its xdp_stats_map, slot 1 = XDP_DROP)."""
        path = XDP_FILTER_PINS / "xdp_stats_map"
        fd = _libbpf.check(_lib.bpf_obj_get(str(path).encode()), f"bpf_obj_get({path})")
        try:
            stats = BpfMap("xdp_stats_map", fd, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 5)
            return sum(
                int.from_bytes(v[:8], "little") for v in stats.per_cpu_values((1).to_bytes(4, "little"))
            )
        finally:
            os.close(fd)

    def close(self) -> None:
        in_netns(self.netns, "xdp-filter", "unload", self.interface, timeout=30)
        libxdp_dir = Path("/sys/fs/bpf/xdp")
        if not self._libxdp_dir_existed and libxdp_dir.is_dir() and not any(libxdp_dir.iterdir()):
            libxdp_dir.rmdir()

    def __enter__(self) -> "XdpFilter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The rule mix. Rule prefixes come from 10.0.0.0/8 + 172.16.0.0/12 (v4) and fd00::/8 (v6); the
# measured deny rule owns a prefix of its own; rule ports avoid 5000-9999, where the two measured
# packets' ports live, so the "pass" packet matches no rule and the "drop" packet only the last.
DROP_NET = {4: "100.64.7.0/24", 6: "fd99:7::/64"}
DROP_PACKET = {4: ("100.64.7.9", "172.31.0.1", 40000, 5353), 6: ("fd99:7::9", "fd00:1::1", 40000, 5353)}
PASS_PACKET = {
    4: ("192.0.2.9", "198.51.100.1", 40000, 8080),
    6: ("2001:db8::9", "2001:db8:1::1", 40000, 8080),
}


def _prefix(rng: random.Random, family: int, side: str) -> str:
    if family == 4:
        base, span = (10 << 24, 24) if side == "src" else ((172 << 24) | (16 << 16), 20)
        length = rng.choice((12, 16, 20, 24, 24, 24, 28, 32, 32) if side == "src" else (24, 28, 32))
        return str(ipaddress.ip_network((base | rng.getrandbits(span), length), strict=False))
    length = rng.choice((32, 48, 48, 56, 64, 64, 128))
    return str(ipaddress.ip_network(((0xFD00 << 112) | rng.getrandbits(112), length), strict=False))


def _port(rng: random.Random) -> str:
    """A single port (60 %) or a range, below 5000 or from 10000 up."""
    low = rng.random() < 0.5
    start = rng.randint(1, 4899) if low else rng.randint(10000, 64000)
    if rng.random() < 0.6:
        return str(start)
    end = start + rng.choice((1, 9, 99, 999))
    return f"{start}-{min(end, 4999) if low else end}"


def rule_mix(count: int, family: int, seed: int = 20240501) -> list[FirewallRule]:
    """``count`` realistic rules of one address family, the measured deny rule last (lowest priority).

    Kinds: source CIDR + protocol + port or range (35 %), destination CIDR + port (20 %), source
    CIDR only (15 %), protocol + port range only (15 %), source and destination CIDR (10 %), ICMP
    from a CIDR (5 %). Actions: deny 60 %, allow 30 %, log 10 %.
    """
    rng = random.Random(seed * 10 + family)
    rules = []
    for index in range(count - 1):
        kind = rng.random()
        data: dict[str, object] = {
            "id": f"r{index}",
            "priority": index + 1,
            "action": rng.choices(("deny", "allow", "log"), (6, 3, 1))[0],
        }
        if kind < 0.35:
            data |= {"src_ip": _prefix(rng, family, "src"), "protocol": rng.choice(("tcp", "udp"))}
            data["dst_port"] = _port(rng)
        elif kind < 0.55:
            data |= {"dst_ip": _prefix(rng, family, "dst"), "protocol": "tcp", "dst_port": _port(rng)}
        elif kind < 0.70:
            data["src_ip"] = _prefix(rng, family, "src")
        elif kind < 0.85:
            data |= {"protocol": rng.choice(("tcp", "udp")), "dst_port": _port(rng)}
        elif kind < 0.95:
            data |= {"src_ip": _prefix(rng, family, "src"), "dst_ip": _prefix(rng, family, "dst")}
        else:
            data |= {"src_ip": _prefix(rng, family, "src"), "protocol": "icmp" if family == 4 else "icmpv6"}
        rules.append(FirewallRule.from_dict(data))
    deny = {"id": "measured-deny", "priority": count, "action": "deny", "protocol": "udp"}
    rules.append(FirewallRule.from_dict(deny | {"src_ip": DROP_NET[family], "dst_port": "5300-5400"}))
    return rules


def xdp_filter_entry(rule: FirewallRule) -> tuple[str, str, str]:
    """The one xdp-filter entry standing for ``rule``: ("ip", address, mode) or ("port", port, proto).

    xdp-filter matches exact addresses and single ports, each on its own, so a rule becomes its
    first address (the measured deny rule: the drop packet's source) or its first port.
    """
    for net, mode in ((rule.src_ip, "src"), (rule.dst_ip, "dst")):
        if net is not None:
            if str(net) in DROP_NET.values():
                return ("ip", DROP_PACKET[net.version][0], mode)
            return ("ip", str(net[1] if net.num_addresses > 2 else net[0]), mode)
    assert rule.dst_port is not None
    proto = {"tcp": "tcp", "udp": "udp"}.get(rule.protocol.label, "tcp,udp")
    return ("port", str(rule.dst_port.start), proto)
