"""The ``log`` destination: EVE-JSON lines that validate against a schema written from the EVE
documentation's field list, logrotate (rename + create, SIGUSR1), and a full disk mid-batch."""

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from integration.fixtures.alerting.harness import run_pipeline, section, until
from sentinel_adapters.alerting.factory import AlertingAdapters
from sentinel_application.alerting import AlertPipeline
from sentinel_domain.alert import Component
from sentinel_infrastructure.config.alerting import RouteSection
from sentinel_testkit.contracts.alert_spool import sample_alert

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "alerting" / "eve-alert.schema.json").read_text())
TYPES: dict[str, Any] = {"string": str, "object": dict, "array": list, "boolean": bool}
LOG_ROUTE = RouteSection(name="eve", destination="log", min_severity="low")


def violations(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The subset of JSON Schema the EVE schema uses: type, const, enum, required, properties,
    additionalProperties, items, minimum/maximum, minLength, pattern."""
    out: list[str] = []
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [*out, f"{where}: {value!r} is not an integer"]
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            out.append(f"{where}: {value} out of range")
    elif kind is not None and not isinstance(value, TYPES[kind]):
        return [*out, f"{where}: {value!r} is not {kind}"]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: too short")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        out += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                out += violations(item, properties[key], f"{where}.{key}")
            elif extra is False:
                out.append(f"{where}: unexpected {key}")
            elif isinstance(extra, dict):
                out += violations(item, extra, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += violations(item, schema["items"], f"{where}[{i}]")
    return out


def eve_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def test_the_validator_rejects_what_the_schema_forbids() -> None:
    good = {
        "timestamp": "2024-03-01T10:00:00.123456+0000", "event_type": "alert",
        "alert": {"action": "blocked", "gid": 1, "signature_id": 7, "rev": 1, "signature": "s",
                  "category": "ids", "severity": 1},
        "ebpfsentinel": {"id": "x", "timestamp_ns": 1, "component": "ids", "rule_id": "r", "severity": "low",
                         "action": "alert", "is_ipv6": False, "false_positive": False},
    }  # fmt: skip
    assert violations(good, SCHEMA) == []
    bad = json.loads(json.dumps(good))
    bad.update(event_type="flow", src_port=70000, proto="tcp", timestamp="yesterday", surprise=1)
    bad["alert"]["severity"] = "high"
    del bad["ebpfsentinel"]["id"]
    assert len(violations(bad, SCHEMA)) == 7


def test_every_line_is_an_eve_alert_that_validates(tmp_path: Path) -> None:
    alerts = [sample_alert(i) for i in range(30)]
    alerts.append(replace(sample_alert(30), src=None, dst=None, protocol=0, src_port=0, dst_port=0,
                          component=Component.DLP, rule_id="dlp-pci", data_type="pci"))  # fmt: skip
    alerts.append(replace(sample_alert(31), protocol=1, src_port=0, dst_port=0, rule_id="12345"))

    async def body(p: AlertPipeline, _: AlertingAdapters) -> None:
        for a in alerts:
            p.publish(a)
        await until(lambda: p.pending() == 0)

    run_pipeline(section(tmp_path, LOG_ROUTE), body, tmp_path)
    lines = eve_lines(tmp_path / "eve.json")
    assert [e["ebpfsentinel"]["id"] for e in lines] == [a.id for a in alerts]
    for line in lines:
        assert violations(line, SCHEMA) == [], line
    assert lines[31]["alert"]["signature_id"] == 12345 and lines[31]["proto"] == "ICMP"
    assert "src_ip" not in lines[30] and lines[30]["ebpfsentinel"]["data_type"] == "pci"
    assert oct((tmp_path / "eve.json").stat().st_mode & 0o777) == oct(0o640)


def test_logrotate_rename_and_sigusr1_lose_nothing(tmp_path: Path) -> None:
    path, rotated = tmp_path / "eve.json", tmp_path / "eve.json.1"
    alerts = [sample_alert(i) for i in range(30)]

    async def body(p: AlertPipeline, adapters: AlertingAdapters) -> None:
        previous = signal.signal(signal.SIGUSR1, lambda *_: adapters.reopen_logs())
        try:
            writer = adapters.log_writers[0]
            for a in alerts[:10]:
                p.publish(a)
            await until(lambda: len(eve_lines(path)) == 10)
            path.rename(rotated)  # logrotate "create": the old file moves, a new one must appear
            for a in alerts[10:20]:
                p.publish(a)
            await until(lambda: len(eve_lines(path)) == 10)
            assert writer.reopens == 1
            os.kill(os.getpid(), signal.SIGUSR1)  # postrotate: kill -USR1 <agent>
            for a in alerts[20:]:
                p.publish(a)
            await until(lambda: len(eve_lines(path)) == 20)
            assert writer.reopens == 2
        finally:
            signal.signal(signal.SIGUSR1, previous)

    run_pipeline(section(tmp_path, LOG_ROUTE), body, tmp_path)
    ids = [e["ebpfsentinel"]["id"] for e in eve_lines(rotated) + eve_lines(path)]
    assert ids == [a.id for a in alerts]


FULL_DISK = """
import resource, signal, sys
from sentinel_adapters.alerting.eve_file_sender import EveFileWriter, eve_line
from sentinel_testkit.contracts.alert_spool import sample_alert
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
writer = EveFileWriter(sys.argv[1])
writer.write([eve_line(sample_alert(i)) for i in range(3)])
size = writer.path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 700, size + 700))  # room for part of the batch
try:
    writer.write([eve_line(sample_alert(i)) for i in range(3, 13)])
except OSError as exc:
    print(exc.errno, writer.write_errors, writer.path.stat().st_size - size)
"""


def test_a_disk_that_fills_mid_batch_leaves_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    errno_, errors, growth = map(int, result.stdout.split())
    assert (errno_, errors, growth) == (27, 1, 0)  # EFBIG, counted, the file cut back to the last line
    lines = eve_lines(path)
    assert [e["ebpfsentinel"]["rule_id"] for e in lines] == ["rule-0", "rule-1", "rule-2"]
