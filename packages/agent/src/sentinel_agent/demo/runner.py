"""Builds the lab, starts the agent with every engine on, plays the steps, removes everything.

    sink netns demo-<pid>s         root netns ("victim")                attacker netns demo-<pid>a
    HTTP :8088 (feed,  <== veth ==> agent: XDP + TC on demo<pid>ah <== veth ==> .2 DNS resolver,
    webhook receiver)               victim services :80 :8080 :8443            .11-.18 and .66 attackers

Cleanup runs on normal exit, on exceptions, on Ctrl-C and on SIGTERM: the agent is stopped (it
detaches its programs), the namespace servers and victim services are closed, then the namespaces
and veth pairs are deleted (whatever runs inside them is killed first).
"""

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

from sentinel_agent.demo.config import (
    IDS_PORTS,
    SINK_PORT,
    TLS_PORTS,
    WEB_PORTS,
    Addresses,
    demo_config,
)
from sentinel_agent.demo.display import Display, read_counters, summary_lines
from sentinel_agent.demo.services import NsServer, VictimService, self_signed
from sentinel_agent.demo.steps import AgentApi, Scenario, StepResult
from sentinel_agent.lab import VethLab, free_subnets

AGENT = str(Path(sys.executable).parent / "ebpfsentinel-agent")
LIFETIME = 240.0  # seconds: upper bound for the namespace servers (the demo takes far less)
OK_LINE = "demo finished: every step gave the expected verdict"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_names(pid: int) -> tuple[str, str]:
    """The namespace names of the demo run by process ``pid`` (attacker, sink); veths are
    ``demo<pid>a{h,p}`` and ``demo<pid>s{h,p}``."""
    return f"demo-{pid}a", f"demo-{pid}s"


class _TerminatedError(Exception):
    pass


def _on_sigterm(signum: int, frame: types.FrameType | None) -> None:
    raise _TerminatedError()


def _wait_ready(api: AgentApi, agent: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and agent.poll() is None:
        try:
            api.get("/readyz", timeout=1)
            return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop_agent(agent: subprocess.Popen[bytes]) -> None:
    if agent.poll() is None:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=20)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(timeout=5)


def run_demo(quiet: bool = False) -> int:
    if os.geteuid() != 0:
        print("the demo needs root (it creates network namespaces and loads eBPF programs)", file=sys.stderr)
        return 2
    display = Display(quiet)
    results: list[StepResult] = []
    interrupted = False
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    stack = contextlib.ExitStack()
    try:
        results = _run(stack, display)
    except (KeyboardInterrupt, _TerminatedError):
        interrupted = True
    except Exception as exc:  # report, then clean up like any other exit
        display.stop()
        print(f"demo error: {exc}", file=sys.stderr)
        results.append(StepResult("demo setup", problems=[str(exc)]))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # nothing interrupts the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        display.stop()
        try:
            stack.close()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)
    if interrupted:
        print("demo interrupted: lab removed, agent stopped", file=sys.stderr)
        return 130
    for line in summary_lines(results):
        if display.quiet or line.startswith("FAIL"):  # the live view already showed the rest
            print(line)
    failed = [r for r in results if not r.passed]
    if failed or not results:
        print(f"demo FAILED: {len(failed)} of {len(results)} steps did not give the expected verdict")
        return 1
    print(OK_LINE + " (lab removed)")
    return 0


def _run(stack: contextlib.ExitStack, display: Display) -> list[StepResult]:
    pid = os.getpid()
    started = time.monotonic()
    missing = [tool for tool in ("ip", "openssl") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"missing tools: {', '.join(missing)} (bash tools/setup.sh installs them)")
    workdir = Path(tempfile.mkdtemp(prefix=f"ebpfsentinel-demo-{pid}-"))
    stack.callback(shutil.rmtree, workdir, True)
    attacker_subnet, sink_subnet = free_subnets(2)
    attacker = VethLab(prefix="demo", tag=f"{pid}a", subnet=attacker_subnet)
    sink = VethLab(prefix="demo", tag=f"{pid}s", subnet=sink_subnet)
    stack.callback(attacker.close)
    attacker.open()
    stack.callback(sink.close)
    sink.open()
    a = Addresses(
        victim=attacker.host_ip,
        victim_if=attacker.host_if,
        resolver=attacker.peer_ip,
        scanner=attacker.peer_address(11),
        flooder=attacker.peer_address(12),
        intruder=attacker.peer_address(13),
        ioc=attacker.peer_address(14),
        c2=attacker.peer_address(66),
        web_client=attacker.peer_address(17),
        leaker=attacker.peer_address(18),
        sink=sink.peer_ip,
    )
    for address in (a.scanner, a.flooder, a.intruder, a.ioc, a.c2, a.web_client, a.leaker):
        attacker.add_peer_address(address)

    # servers: the sink (feed + webhooks), the attacker's DNS resolver, the victim's services
    feed, webhook_log = workdir / "feed.txt", workdir / "webhooks.jsonl"
    feed.write_text(f"# eBPFsentinel demo feed: known-bad addresses\n{a.ioc}\n")
    stack.callback(NsServer(sink, LIFETIME, "http", str(SINK_PORT), str(feed), str(webhook_log)).close)
    stack.callback(NsServer(attacker, LIFETIME, "dns", a.c2).close)
    ok = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
    web = VictimService.first_free(a.victim, WEB_PORTS, ok)
    stack.callback(web.close)
    ids = VictimService.first_free(a.victim, IDS_PORTS, ok)
    stack.callback(ids.close)
    tls = VictimService.first_free(a.victim, TLS_PORTS, ok, tls=self_signed(workdir))
    stack.callback(tls.close)
    a = dataclasses.replace(a, ids_port=ids.port, web_port=web.port, tls_port=tls.port)

    # the agent, on the victim side of the attacker veth
    ports = (_free_port(), _free_port(), _free_port())
    config = workdir / "demo.yaml"
    config.write_text(demo_config(a, workdir, ports))
    config.chmod(0o600)
    log_path = workdir / "agent.log"
    with log_path.open("wb") as log:
        agent = subprocess.Popen(
            [AGENT, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack.callback(_stop_agent, agent)
    api = AgentApi(ports[0])
    if not _wait_ready(api, agent):
        tail = log_path.read_text()[-1500:]
        raise RuntimeError(f"the agent did not become ready:\n{tail}")
    try:
        programs = [p["name"] for p in api.get("/api/v1/ebpf/status")["programs"] if p.get("loaded")]
    except (OSError, KeyError, TypeError):
        programs = []

    scenario = Scenario(attacker, a, api, webhook_log)
    scenario.web_requests = lambda: list(web.requests)
    steps = scenario.steps()
    header = (
        f"attacker namespace {attacker.netns} ({a.scanner} ... {a.c2})  ->  victim {a.victim} on "
        f"{a.victim_if}\nsink namespace {sink.netns} ({a.sink}: threat-intel feed, webhook receiver)\n"
        f"agent pid {agent.pid}, REST http://127.0.0.1:{ports[0]}, programs: {', '.join(programs) or '?'}"
    )
    display.start(header, [title for title, _ in steps])
    stop_poll = threading.Event()

    def poll() -> None:
        while not stop_poll.wait(0.5):
            try:
                latest = api.get("/api/v1/alerts?limit=6")["alerts"]
            except (OSError, ValueError, KeyError, TypeError):
                latest = []
            display.update(read_counters(api), latest)

    if not display.quiet:
        poller = threading.Thread(target=poll, daemon=True, name="demo-poll")
        poller.start()
        stack.callback(poller.join, 2)
        stack.callback(stop_poll.set)

    results = []
    for index, (title, step) in enumerate(steps):
        display.running(index)
        result = StepResult(title)
        try:
            step(result)
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            result.problems.append(f"{type(exc).__name__}: {exc}")
        result.passed = not result.problems
        display.done(index, result)
        results.append(result)
        if agent.poll() is not None:
            results.append(StepResult("agent", problems=[f"the agent exited ({agent.returncode})"]))
            break
    display.update(read_counters(api), [])
    display.stop()
    display.say(f"\n{len(results)} steps in {time.monotonic() - started:.1f} s; cleaning up")
    return results
