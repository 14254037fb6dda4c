"""The README's demo (`ebpfsentinel-agent demo`) runs every attack step to its expected verdict and
alert, and leaves nothing behind: no namespace, veth, process, attached or loaded program — also
when Ctrl-C interrupts it in the middle of its steps.
"""

import glob
import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _agent import wait_until

pytestmark = pytest.mark.privileged

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")
STEPS = 8


def processes(pattern: str) -> set[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout
    return {int(p) for p in out.split()}


def bpftool(*args: str) -> list[dict[str, Any]]:
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=False).stdout
    return list(json.loads(out or "[]"))


def prog_ids(pid: int) -> set[int]:
    """The BPF programs process ``pid`` holds open (``prog_id`` in its descriptors' fdinfo)."""
    ids = set()
    for info in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            text = Path(info).read_text()
        except OSError:
            continue
        found = re.search(r"^prog_id:\s+(\d+)", text, re.MULTILINE)
        if found:
            ids.add(int(found.group(1)))
    return ids


class DemoRun:
    """Watches a running demo from outside: its agent, REST port and the programs it loaded.

    Other tests may load the same programs at the same time, so leftovers are checked by the ids
    of the programs this demo's agent held, not by counting names."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [AGENT, "demo", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.pid = self.proc.pid
        self.nsservers_before = processes("sentinel_agent.demo.nsserver")
        self.programs: set[int] = set()

    def wait_for_agent(self) -> int:
        """Wait until the demo's agent answers; record its programs; return its REST port."""
        pattern = f"/tmp/ebpfsentinel-demo-{self.pid}-*/demo.yaml"
        assert wait_until(lambda: glob.glob(pattern), timeout=30), "the demo wrote no config"
        config = Path(glob.glob(pattern)[0]).read_text()
        port = int(re.search(r"http_port: (\d+)", config).group(1))  # type: ignore[union-attr]
        assert wait_until(lambda: get(port, "/readyz") is not None, timeout=30), (
            "the demo's agent never got ready"
        )
        agents = processes(f"ebpfsentinel-demo-{self.pid}-.*demo.yaml")
        assert len(agents) == 1
        self.programs = prog_ids(agents.pop())
        assert (
            len(self.programs) >= 10
        )  # XDP firewall + rate limiter, 3 TC programs (+ helpers), 6 DLP probes
        return port

    def assert_nothing_left(self) -> None:
        pid = self.pid
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        assert f"demo-{pid}" not in netns
        links = subprocess.run(
            ["ip", "-o", "link", "show"], capture_output=True, text=True, check=True
        ).stdout
        assert f"demo{pid}" not in links
        assert not processes(f"ebpfsentinel-demo-{pid}-")  # the agent (its config lives in the workdir)
        assert processes("sentinel_agent.demo.nsserver") <= self.nsservers_before
        assert not glob.glob(f"/tmp/ebpfsentinel-demo-{pid}-*")
        attached = json.dumps(bpftool("net", "show"))
        assert f"demo{pid}" not in attached  # no XDP/TC program on a lab interface
        # every program the demo's agent loaded is gone: not attached (XDP/TC, uprobes), not loaded
        assert wait_until(lambda: not self.programs & {p["id"] for p in bpftool("prog", "show")}, timeout=10)
        assert not self.programs & {p.get("prog_id") for p in bpftool("perf", "show")}


def get(port: int, path: str) -> object:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return json.loads(resp.read() or b"null") or True
    except (OSError, ValueError):
        return None


def test_demo_runs_every_step_and_cleans_up() -> None:
    demo = DemoRun()
    try:
        demo.wait_for_agent()
        out, err = demo.proc.communicate(timeout=120)
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait(timeout=10)
    assert demo.proc.returncode == 0, out + err
    assert "demo finished: every step gave the expected verdict" in out
    passed = re.findall(r"^PASS (\d+)\. ", out, re.MULTILINE)
    assert passed == [str(i) for i in range(1, STEPS + 1)], out
    assert "FAIL" not in out
    # each step's real outcome, as the demo measured it (verdict | alert | MITRE)
    for expected in (
        "9/9 denied ports dropped",
        "firewall deny-scan",
        "then blacklisted: ",  # the web port: 8080 unless the host already listens there
        "open -> filtered | ids ids-etc-passwd x",
        "ips blacklist x1",
        "1 IOC fetched from the sink's feed",
        "C2 open -> filtered | dns dns-blocklist:*.evil.example x1",
        "| T1071.004",
        "l7 no-admin x",
        "threatintel ti-demo-feed x",  # one per dropped packet: a SYN retransmit adds one
        "plaintext caught in the victim's SSL_read",
        "dlp dlp-pci-visa",
        "| T1041",
        "webhook POSTs received by the sink namespace",
    ):
        assert expected in out, (expected, out)
    # the burst passes (plus what refills during the send); every dropped SYN is one alert
    flood = re.search(
        r"200 SYNs sent, (\d+) passed, (\d+) dropped \| ratelimit syn-flood x(\d+) \| T1498", out
    )
    assert flood, out
    passed_syns, dropped, alerts = map(int, flood.groups())
    assert passed_syns >= 20 and dropped == alerts == 200 - passed_syns
    assert "4111111111111111" not in out + err
    demo.assert_nothing_left()


def test_a_demo_interrupted_by_ctrl_c_cleans_up() -> None:
    """SIGINT mid-scenario (SIGTERM takes the same path in the demo: both raise into its cleanup)."""
    demo = DemoRun()
    try:
        port = demo.wait_for_agent()
        # interrupt once the first step's alerts are stored: mid-scenario, everything is up
        alerts = "/api/v1/alerts?component=firewall&limit=1"
        assert wait_until(lambda: (get(port, alerts) or {}).get("alerts"), timeout=45)  # type: ignore[attr-defined]
        demo.proc.send_signal(signal.SIGINT)
        out, err = demo.proc.communicate(timeout=60)
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait(timeout=10)
    assert demo.proc.returncode == 130, out + err
    assert "demo interrupted: lab removed, agent stopped" in err
    demo.assert_nothing_left()
