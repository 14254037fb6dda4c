"""Failing alert sinks, signals and a crash against the real agent; nothing detected is lost.

    lab netns (attacker)                root netns
    ping host_ip  ==== veth ====>  [agent] XDP deny ICMP → firewall alerts ─┬─ webhook → HttpReceiver :W
                                                                           └─ email   → aiosmtpd     :S

One agent serves the sink faults in file order (down → 500s → slow → recovered, SMTP down → up),
then it is stopped by SIGTERM in the middle of a slow delivery, restarted on the same data
directory, stopped by SIGTERM in the middle of a reload of 1,000 rules, restarted, killed with
SIGKILL after a rule was added over REST, and restarted once more. Every alert id the store holds
must reach the webhook (repeats allowed: delivery is at-least-once) and the mailbox.
"""

import signal
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _lab import Agent, AgentProcess, agent_yaml, count_arrivals, free_port, metric, send_syns, wait_until

from integration.fixtures.alerting.receivers import HttpReceiver, SmtpReceiver, mail_alerts
from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged

BODY = """firewall:
  mode: block
  rules:
    - {{id: deny-ping, priority: 10, action: deny, protocol: icmp, src_ip: "{peer}/32"}}
{extra}ids: {{enabled: false}}
threatintel: {{enabled: false}}
dns: {{enabled: false}}
dlp: {{enabled: false}}
alerting:
  dedup_window_secs: 0
  throttle_window_secs: 0
  retry: {{initial_backoff_ms: 100, max_backoff_ms: 400, multiplier: 2, attempt_timeout_secs: 1}}
  circuit_breaker: {{failure_threshold: 3, open_secs: 1}}
  webhook: {{timeout_secs: 1, allow_networks: [127.0.0.0/8]}}
  smtp: {{host: 127.0.0.1, port: {smtp}, tls: false, from_address: agent@example.org,
          timeout_secs: 2, batch_max: 50, batch_interval_secs: 1}}
  routes:
    - {{name: hook, destination: webhook, min_severity: low, webhook_url: "http://127.0.0.1:{hook}/alerts"}}
    - {{name: mail, destination: email, min_severity: low, email_to: soc@example.org}}
"""
CIRCUIT = "ebpfsentinel_alert_sender_circuit_state"


@dataclass
class Rig:
    lab: VethLab
    tmp: Path
    hook: HttpReceiver
    smtp: SmtpReceiver
    http_port: int
    head: str  # the agent section (ports, interface, data directory)
    agent: AgentProcess | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def write_config(self, extra: str = "") -> None:
        body = BODY.format(peer=self.lab.peer_ip, smtp=self.smtp.port, hook=self.hook.port, extra=extra)
        (self.tmp / "agent.yaml").write_text(self.head + body)

    def start(self) -> AgentProcess:
        self.starts += 1
        log = self.tmp / f"agent-{self.starts}.log"
        self.logs.append(log)
        self.agent = Agent(self.tmp / "agent.yaml", self.http_port, log).__enter__()
        return self.agent

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    def stored_ids(self) -> set[str]:
        assert self.agent is not None
        status, body = self.agent.get("/api/v1/alerts?component=firewall&limit=1000")
        assert status == 200
        return {a["id"] for a in body["alerts"]}

    def hooked_ids(self) -> set[str]:
        return {r.headers["x-ebpfsentinel-alert-id"] for r in self.hook.delivered()}

    def mailed_ids(self) -> set[str]:
        return {a["id"] for mail in self.smtp.received() for a in mail_alerts(mail)}

    def ping(self, count: int) -> None:
        before = len(self.stored_ids())
        assert self.lab.ping_from_peer(self.lab.host_ip, count=count) == 0  # denied in XDP
        assert wait_until(lambda: len(self.stored_ids()) >= before + count, timeout=10)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("faults")
    hook = HttpReceiver(port=free_port())  # started by the tests: down at first
    smtp = SmtpReceiver()  # its port is fixed now, the server runs only inside one test
    with VethLab(prefix="flt") as lab:
        http_port = free_port()
        head = agent_yaml(lab.host_if, http_port, data_dir=tmp / "data")
        subject = Rig(lab, tmp, hook, smtp, http_port, head)
        subject.write_config()
        try:
            subject.start()
            yield subject
        finally:
            if subject.agent is not None:
                subject.agent.stop()
            hook.stop()


def test_sinks_down_detection_goes_on_and_the_breaker_opens(rig: Rig) -> None:
    """Nothing listens on either port: alerts are still stored and the breakers open."""
    rig.ping(3)
    assert wait_until(lambda: metric(rig.metrics(), CIRCUIT, destination="webhook") == 2, timeout=10)
    assert metric(rig.metrics(), "ebpfsentinel_alert_export_failures_total", destination="webhook") >= 3
    rig.ping(2)  # detection keeps going while the breaker is open
    assert metric(rig.metrics(), "ebpfsentinel_alert_spool_depth", destination="webhook") >= 1
    assert rig.agent is not None and rig.agent.get("/readyz")[0] == 200


def test_webhook_recovers_and_every_stored_alert_arrives(rig: Rig) -> None:
    rig.hook.start()
    assert wait_until(lambda: rig.hooked_ids() >= rig.stored_ids(), timeout=20)
    assert wait_until(lambda: metric(rig.metrics(), CIRCUIT, destination="webhook") == 0, timeout=10)
    assert rig.hooked_ids() == rig.stored_ids()


def test_500s_are_retried_until_delivered(rig: Rig) -> None:
    rig.hook.default = 500
    rig.ping(3)
    assert wait_until(lambda: metric(rig.metrics(), CIRCUIT, destination="webhook") == 2, timeout=10)
    assert any(r.status == 500 for r in rig.hook.requests)
    rig.hook.default = 200
    assert wait_until(lambda: rig.hooked_ids() == rig.stored_ids(), timeout=20)


def test_a_receiver_slower_than_the_timeout_is_retried_until_delivered(rig: Rig) -> None:
    rig.hook.delay = 1.5  # beyond webhook.timeout_secs: 1
    before = len(rig.hook.requests)
    rig.ping(2)
    assert wait_until(lambda: len(rig.hook.requests) >= before + 3, timeout=15)  # retried
    assert metric(rig.metrics(), "ebpfsentinel_alert_export_failures_total", destination="webhook") >= 1
    rig.hook.delay = 0
    assert wait_until(lambda: rig.hooked_ids() == rig.stored_ids(), timeout=20)


def test_smtp_down_then_up_delivers_every_alert(rig: Rig) -> None:
    assert rig.mailed_ids() == set()  # the mail server has never run
    assert metric(rig.metrics(), CIRCUIT, destination="email") in (1, 2)
    with rig.smtp:
        assert wait_until(lambda: rig.mailed_ids() == rig.stored_ids(), timeout=30)
        assert wait_until(lambda: metric(rig.metrics(), CIRCUIT, destination="email") == 0, timeout=10)


def bounded_exit(agent: AgentProcess, sig: int, limit: float = 15.0) -> int:
    agent.signal(sig)
    started = time.monotonic()
    code = agent.proc.wait(timeout=limit)
    assert time.monotonic() - started < limit
    agent.stop()
    return int(code)


def no_traceback(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def test_sigterm_during_a_slow_delivery_exits_promptly_and_the_spool_survives(rig: Rig) -> None:
    assert rig.agent is not None
    rig.hook.delay = 5  # every attempt hangs past the timeout: deliveries are in flight
    rig.ping(3)
    pending = rig.stored_ids() - rig.hooked_ids()
    assert pending
    assert bounded_exit(rig.agent, signal.SIGTERM) == 0
    no_traceback(rig.logs[-1])
    rig.hook.delay = 0
    rig.start()
    assert wait_until(lambda: rig.hooked_ids() >= pending, timeout=20)
    assert rig.hooked_ids() == rig.stored_ids()


LARGE = "".join(
    f"    - {{id: bulk-{i}, priority: {100 + i}, action: deny, protocol: udp, dst_port: {20000 + i % 30000},"
    f' src_ip: "203.0.113.{i % 250}/32"}}\n'
    for i in range(1000)
)  # ~3 s to parse here: the SIGTERM lands while the reload runs


def test_sigterm_during_a_large_reload_exits_promptly_without_a_traceback(rig: Rig) -> None:
    assert rig.agent is not None
    status, body = rig.agent.request(
        "POST",
        "/api/v1/firewall/rules",
        {"id": "rest-deny-syn", "priority": 5, "action": "deny", "protocol": "tcp", "dst_port": 7777},
    )
    assert status in (200, 201), body
    config = (rig.tmp / "agent.yaml").read_text()
    marker = "  rules:\n"
    (rig.tmp / "agent.yaml").write_text(config.replace(marker, marker + LARGE, 1))
    rig.agent.signal(signal.SIGHUP)
    assert bounded_exit(rig.agent, signal.SIGTERM) == 0
    no_traceback(rig.logs[-1])
    # Whether the reload finished first or was abandoned, the shutdown was the orderly one.
    assert rig.agent.events("agent stopped")
    (rig.tmp / "agent.yaml").write_text(config)  # restart quickly with the small rule set


def rest_rule_enforced(rig: Rig) -> bool:
    seen, _ = count_arrivals(rig.lab.host_if, 7777, lambda: send_syns(rig.lab, 5, 7777))
    return bool(seen == 0)


def test_sigkill_then_restart_keeps_rest_rules_and_alerts(rig: Rig) -> None:
    agent = rig.start()  # the REST rule comes back from LMDB
    assert rest_rule_enforced(rig)
    status, body = agent.request(
        "POST",
        "/api/v1/firewall/rules",
        {"id": "rest-deny-syn-2", "priority": 6, "action": "deny", "protocol": "tcp", "dst_port": 7778},
    )
    assert status in (200, 201), body
    rig.ping(2)
    stored = rig.stored_ids()
    agent.signal(signal.SIGKILL)
    agent.proc.wait(timeout=10)
    agent.stop()
    agent = rig.start()  # the store and the spool open cleanly after the crash
    assert rig.stored_ids() >= stored
    ids = {r["id"] for r in agent.get("/api/v1/firewall/rules")[1]}
    assert {"rest-deny-syn", "rest-deny-syn-2"} <= ids
    assert rest_rule_enforced(rig)
    assert wait_until(lambda: rig.hooked_ids() == rig.stored_ids(), timeout=20)
    for log in rig.logs:
        no_traceback(log)
