"""Agent memory: resident set size at idle, every engine enabled, after start-up settles.

Target: ≤ 80 MB. The real agent (``ebpfsentinel-agent -c``) runs as a subprocess on a ``VethLab``
interface with firewall (block), rate limiter, IDS, IPS, L7 (one port, two rules), DLP, threat
intelligence (no feeds), DNS intelligence and reputation enabled, and its LMDB store in a
temporary directory. Once ``/readyz`` answers (ready or not: a program the kernel or machine
refuses, e.g. no libssl for the DLP uprobe, leaves the agent running degraded — the table says
which), ``VmRSS`` from ``/proc/<pid>/status`` is sampled every 0.5 s until three samples in a row
lie within 0.5 MB of each other (at most ``--settle`` s), and the last one is reported along with
``RssAnon``/``RssFile`` and ``VmHWM`` (peak). The agent has no child processes.

Baselines, same run: ``python -c pass`` (the same interpreter; its ``VmHWM``, read by itself), the
agent's imports alone (``import sentinel_agent.daemon``, nothing started), and the agent with every
engine disabled (REST/gRPC/metrics servers and storage only).

Run as root: ``.venv/bin/python bench/bench_agent_rss.py [--trials 3] [--settle 20]``. Never
asserts; prints a Markdown table.
"""

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common as bc
from sentinel_agent.lab import VethLab

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")
ALL_ON = """firewall:
  mode: block
ratelimit:
  enabled: true
ids:
  enabled: true
  rules:
    - {{id: ids-ssh, severity: high, protocol: tcp, dst_port: 22, description: ssh}}
ips:
  enabled: true
  mode: block
l7:
  enabled: true
  ports: [{l7_port}]
  rules:
    - {{id: l7-admin, priority: 1, action: deny, protocol: http, path: /admin}}
    - {{id: l7-sni, priority: 2, action: deny, protocol: tls, sni: "*.bad.example"}}
dlp:
  enabled: true
threatintel:
  enabled: true
dns:
  enabled: true
  blocklist:
    domains: ["*.evil.example"]
  reputation:
    enabled: true
"""
ALL_OFF = """firewall:
  enabled: false
ratelimit:
  enabled: false
ids:
  enabled: false
ips:
  enabled: false
l7:
  enabled: false
dlp:
  enabled: false
threatintel:
  enabled: false
dns:
  enabled: false
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def peak_of(code: str) -> int:
    """Peak RSS (kB) of ``python -c <code>``: its ``VmHWM``, read by the child itself at its end
    (``ru_maxrss`` would not do: Linux carries it over fork and exec, so it would show this
    process's size)."""
    tail = "import re, sys\nstatus = open('/proc/self/status').read()\n"
    tail += "sys.stdout.write(re.search(r'VmHWM:\\s+(\\d+)', status)[1])"
    probe = f"{code}\n{tail}"
    return int(
        subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    )


def agent_rss(interface: str, body: str, settle: float) -> tuple[dict[str, int], str]:
    with tempfile.TemporaryDirectory(prefix="brss-") as tmp:
        port = free_port()
        config = Path(tmp) / "agent.yaml"
        config.write_text(
            f"agent:\n  interfaces: [{interface}]\n  http_port: {port}\n  grpc_port: {free_port()}\n"
            f"  metrics_port: {free_port()}\n  data_dir: {tmp}/data\n{body}"
        )
        config.chmod(0o600)
        log = (Path(tmp) / "agent.log").open("w")
        proc = subprocess.Popen([AGENT, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            readiness: dict[str, object] = {}
            deadline = time.monotonic() + 60
            while not readiness:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"agent did not start: {(Path(tmp) / 'agent.log').read_text()[-2000:]}"
                    )
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                        readiness = json.loads(r.read())
                except urllib.error.HTTPError as err:  # 503: running, degraded
                    readiness = json.loads(err.read())
                except OSError:
                    time.sleep(0.1)
            samples: list[int] = []
            start = time.monotonic()
            while time.monotonic() - start < settle:
                samples.append(status_kb(proc.pid)["VmRSS"])
                if len(samples) >= 3 and max(samples[-3:]) - min(samples[-3:]) <= 512:
                    break
                time.sleep(0.5)
            figures = status_kb(proc.pid)
            blocked = readiness.get("attach_blocked") or []
            note = (
                "ready" if readiness.get("status") == "ready" else "degraded: " + "; ".join(map(str, blocked))
            )
            return figures, note
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    print(f"# bench_agent_rss: {bc.machine()}")
    bare = statistics.median(peak_of("pass") for _ in range(args.trials))
    imports = statistics.median(peak_of("import sentinel_agent.daemon") for _ in range(args.trials))
    results: dict[str, list[dict[str, int]]] = {"off": [], "on": []}
    notes: dict[str, str] = {}
    with VethLab(prefix="brs") as lab:
        for _ in range(args.trials):
            for key, body in (("off", ALL_OFF), ("on", ALL_ON.format(l7_port=8088))):
                figures, note = agent_rss(lab.host_if, body, args.settle)
                results[key].append(figures)
                notes[key] = note

    def mb(kb: float) -> str:
        return f"{kb / 1024:.1f}"

    rows = [
        ("`python -c pass` (peak)", mb(bare), "", "", mb(bare), "1.00x", ""),
        (
            "`python -c 'import sentinel_agent.daemon'` (peak)",
            mb(imports),
            "",
            "",
            mb(imports),
            f"{imports / bare:.2f}x",
            "",
        ),
    ]
    for key, label in (("off", "agent, every engine disabled"), ("on", "agent, every engine enabled")):
        rss = bc.summarize([f["VmRSS"] for f in results[key]])
        anon = bc.summarize([f.get("RssAnon", 0) for f in results[key]])
        file = bc.summarize([f.get("RssFile", 0) for f in results[key]])
        hwm = bc.summarize([f["VmHWM"] for f in results[key]])
        rows.append(
            (
                label,
                f"{mb(rss.median)} ({mb(rss.low)}-{mb(rss.high)})",
                mb(anon.median),
                mb(file.median),
                mb(hwm.median),
                f"{rss.median / bare:.2f}x",
                notes[key],
            )
        )
    bc.print_table(
        f"Resident memory at idle (MB = MiB; median of {args.trials}, min-max; target ≤ 80 MB all enabled)",
        ["process", "VmRSS", "RssAnon", "RssFile", "VmHWM (peak)", "VmRSS / python -c pass", "readiness"],
        rows,
    )


if __name__ == "__main__":
    main()
