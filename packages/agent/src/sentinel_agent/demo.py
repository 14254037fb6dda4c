"""``ebpfsentinel-agent demo``: a lab of network namespaces with live attack traffic.

Builds a veth lab (nothing touches the host's real interfaces), starts the agent on the lab's
host-side interface with a demo config, sends real packets from the "attacker" namespace, shows
each step's verdict, the alerts and the kernel counters, then removes everything — also on
Ctrl-C. Today's scenario covers the firewall; later engines add their own steps.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sentinel_agent.lab import VethLab

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_config(lab: VethLab, workdir: Path) -> tuple[Path, int]:
    http_port = _free_port()
    config = workdir / "demo.yaml"
    config.write_text(
        f"""# eBPFsentinel demo configuration (generated)
agent:
  interfaces: [{lab.host_if}]
  http_port: {http_port}
  grpc_port: {_free_port()}
  metrics_port: {_free_port()}
  log_format: json
  data_dir: {workdir}
firewall:
  mode: block
  default_policy: pass
  rules:
    - id: deny-attacker-icmp
      priority: 10
      action: deny
      protocol: icmp
      src_ip: {lab.peer_ip}
    - id: deny-attacker-v6-scan
      priority: 20
      action: deny
      protocol: tcp
      src_ip: {lab.peer_ip6}
      dst_port: "1-1024"
"""
    )
    return config, http_port


def _wait_ready(port: int, agent: subprocess.Popen[bytes], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and agent.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _alerts(log_path: Path) -> list[dict[str, object]]:
    out = []
    for line in log_path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "alert":
            out.append(record)
    return out


def _tcp_probe(lab: VethLab, host: str, port: int) -> str:
    """Try a TCP connect from the attacker namespace: 'open', 'closed' (RST) or 'filtered' (no answer)."""
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n"
        "s.settimeout(1.0)\n"
        "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
        "except ConnectionRefusedError: print('closed')\n"
        "except OSError: print('filtered')\n"
    )
    result = lab.ns(sys.executable, "-c", code, host, str(port), check=False, timeout=10)
    return result.stdout.strip() or "filtered"


def run_demo(quiet: bool = False) -> int:
    if os.geteuid() != 0:
        print("the demo needs root (it creates network namespaces and loads eBPF programs)", file=sys.stderr)
        return 2

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    failures: list[str] = []
    interrupted = False
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="ebpfsentinel-demo-") as tmp, VethLab(prefix="demo") as lab:
        workdir = Path(tmp)
        config, port = _demo_config(lab, workdir)
        log_path = workdir / "agent.log"
        say(
            f"lab: attacker namespace {lab.netns} ({lab.peer_ip}, {lab.peer_ip6}) "
            f"-> victim interface {lab.host_if} ({lab.host_ip}, {lab.host_ip6})"
        )
        with log_path.open("wb") as log:
            agent = subprocess.Popen([AGENT, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            if not _wait_ready(port, agent):
                print(log_path.read_text()[-2000:], file=sys.stderr)
                raise RuntimeError("the agent did not become ready")
            say(f"agent ready on http://127.0.0.1:{port} (pid {agent.pid})\n")
            steps: list[tuple[str, Callable[[], object], object, str]] = [
                (
                    "ICMP flood probe from the attacker (IPv4)",
                    lambda: lab.ping_from_peer(lab.host_ip, 3),
                    0,
                    "replies",
                ),
                (
                    "ping over IPv6 (allowed traffic)",
                    lambda: lab.ping_from_peer(lab.host_ip6, 3),
                    3,
                    "replies",
                ),
                (
                    "TCP port scan over IPv6, port 23 (denied range 1-1024)",
                    lambda: _tcp_probe(lab, lab.host_ip6, 23),
                    "filtered",
                    "result",
                ),
                (
                    "TCP port scan over IPv6, port 22 (anti-lockout keeps SSH reachable)",
                    lambda: _tcp_probe(lab, lab.host_ip6, 22),
                    "closed",
                    "result",
                ),
                (
                    "TCP connect over IPv6, port 5555 (not denied)",
                    lambda: _tcp_probe(lab, lab.host_ip6, 5555),
                    "closed",
                    "result",
                ),
            ]
            for title, action, expected, unit in steps:
                got = action()
                ok = got == expected
                say(f"  [{'ok' if ok else 'UNEXPECTED'}] {title}: {unit} = {got} (expected {expected})")
                if not ok:
                    failures.append(title)
            time.sleep(0.5)
            alerts = _alerts(log_path)
            say(f"\nalerts raised: {len(alerts)}")
            for alert in alerts[:8]:
                say(
                    f"  {alert['severity']:<8} {alert['component']:<9} {alert['rule_id']:<22} "
                    f"{alert.get('src_ip')} -> {alert.get('dst_ip')}:{alert.get('dst_port')}"
                )
            if len(alerts) < 4:
                failures.append(f"expected at least 4 alerts, saw {len(alerts)}")
        except KeyboardInterrupt:
            interrupted = True
            say("\ninterrupted: cleaning up")
        except RuntimeError as exc:
            failures.append(str(exc))
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                agent.kill()
            signal.signal(signal.SIGINT, previous)
    say("lab removed")
    if interrupted:
        return 130
    if failures:
        print("demo FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("demo finished: every step gave the expected verdict")
    return 0
