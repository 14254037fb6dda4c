"""Replay's capture reading, error reporting and rendering (no kernel: the programs run in
tests/integration/test_replay.py)."""

import io
import ipaddress
import json
import struct
from pathlib import Path

import pytest
from scapy.all import IP, TCP, UDP, CookedLinux, Dot1Q, Ether, IPv6, Raw, wrpcap, wrpcapng

from sentinel_agent.cli import main
from sentinel_agent.replay.capture import CaptureError, describe, read_capture
from sentinel_agent.replay.engine import PacketResult, RuleHit
from sentinel_agent.replay.render import render
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import Severity

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # explicit: no ARP lookups
TS = 1_750_000_000.123456


def _tcp() -> IP:
    return IP(src="192.0.2.1", dst="192.0.2.2") / TCP(sport=1234, dport=80) / Raw(b"hi")


def test_ethernet_pcap_frames_and_exact_microsecond_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "a.pcap"
    packets = [ETH / _tcp(), ETH / IP(src="192.0.2.9", dst="192.0.2.2") / UDP(sport=5, dport=53)]
    packets[0].time, packets[1].time = TS, TS + 1
    wrpcap(str(path), packets)
    frames = list(read_capture(path))
    assert [f.index for f in frames] == [1, 2]
    assert [f.frame for f in frames] == [bytes(p) for p in packets]
    assert frames[0].timestamp_ns == 1_750_000_000_123_456_000
    assert describe(frames[0].frame) == "tcp 192.0.2.1:1234 > 192.0.2.2:80"
    assert describe(frames[1].frame) == "udp 192.0.2.9:5 > 192.0.2.2:53"
    v6 = ETH / IPv6(src="2001:db8::2", dst="2001:db8::1") / TCP(sport=1, dport=2)
    assert describe(bytes(v6)) == "tcp [2001:db8::2]:1 > [2001:db8::1]:2"
    assert describe(bytes(ETH / Dot1Q(vlan=5) / _tcp())) == "tcp 192.0.2.1:1234 > 192.0.2.2:80"
    assert describe(b"\x00" * 10) == "malformed"


def test_pcapng_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "a.pcapng"
    packet = ETH / _tcp()
    packet.time = TS
    wrpcapng(str(path), [packet])
    (frame,) = list(read_capture(path))
    assert frame.frame == bytes(packet)
    assert abs(frame.timestamp_ns - 1_750_000_000_123_456_000) < 1000


@pytest.mark.parametrize(
    ("linktype", "packet"),
    [(101, _tcp()), (113, CookedLinux(proto=0x0800) / _tcp())],
    ids=["raw-ip", "linux-cooked"],
)
def test_other_link_types_get_an_ethernet_header(tmp_path: Path, linktype: int, packet: object) -> None:
    path = tmp_path / "a.pcap"
    wrpcap(str(path), [packet], linktype=linktype)
    (frame,) = list(read_capture(path))
    assert frame.frame[12:14] == b"\x08\x00"
    assert frame.frame[14:] == bytes(_tcp())


def test_unsupported_link_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wifi.pcap"
    wrpcap(str(path), [Raw(b"\x00" * 30)], linktype=105)
    with pytest.raises(CaptureError, match="link type 105 is not supported"):
        read_capture(path)


def _cut_pcap(path: Path) -> None:
    wrpcap(str(path), [ETH / _tcp(), ETH / _tcp()])
    path.write_bytes(path.read_bytes()[:-5])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a capture\n", "not a pcap or pcapng file (magic 74686973)"),
        (b"", "not a pcap or pcapng file (magic missing)"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap file header"),
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00", "truncated pcapng file header"),
        # a record header claiming 4 GiB: refused without allocating it
        (
            struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
            + struct.pack("<IIII", 0, 0, 2**32 - 1, 60),
            "truncated pcap capture after packet 0: the file ends right after a record header",
        ),
    ],
    ids=["text", "empty", "short-header", "short-pcapng", "huge-record"],
)
def test_malformed_files_raise_capture_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(read_capture(path))


def test_a_cut_record_is_reported_after_the_last_whole_packet(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    _cut_pcap(path)
    frames = read_capture(path)
    assert next(frames).index == 1
    with pytest.raises(
        CaptureError, match="truncated pcap capture after packet 1: the file ends 5 bytes short"
    ):
        next(frames)


def test_cli_reports_capture_and_config_errors_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pcap"
    _cut_pcap(cut)
    assert main(["replay", str(cut)]) == 1
    assert main(["replay", str(tmp_path / "missing.pcap")]) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("agent:\n  interfaces: [eth0]\nfirewall:\n  mode: sideways\n")
    assert main(["replay", str(cut), "-c", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"replay: {cut}: truncated pcap capture after packet 1" in err
    assert "no such capture file" in err
    assert "invalid configuration" in err and "firewall.mode" in err
    assert "Traceback" not in err


def _results() -> list[PacketResult]:
    alert = Alert(
        id="1-deny-1",
        timestamp_ns=1_750_000_000_000_000_000,
        component=Component.FIREWALL,
        severity=Severity.MEDIUM,
        rule_id="deny",
        action=AlertAction.BLOCK,
        src=ipaddress.ip_address("192.0.2.1"),
        dst=ipaddress.ip_address("192.0.2.2"),
        src_port=1234,
        dst_port=80,
        protocol=6,
        message="firewall drop rule=deny 192.0.2.1 -> 192.0.2.2",
    )
    return [
        PacketResult(1, 1, 60, "tcp a > b", "pass"),
        PacketResult(
            2, 2, 60, "tcp c > d", "drop", "xdp_firewall", [RuleHit("xdp_firewall", "deny", "drop")], [alert]
        ),
        PacketResult(3, 3, 10, "malformed", "error", error="shorter than an Ethernet header"),
    ]


def test_render_json_eve_and_table() -> None:
    out = io.StringIO()
    render(_results(), "json", "c.pcap", "c.yaml", ["xdp_firewall"], out)
    doc = json.loads(out.getvalue())
    assert [p["verdict"] for p in doc["packets"]] == ["pass", "drop", "error"]
    assert doc["packets"][1]["alerts"][0]["rule_id"] == "deny"
    assert doc["packets"][1]["alerts"][0]["src_addr"] == [int(ipaddress.ip_address("192.0.2.1")), 0, 0, 0]
    assert doc["packets"][2]["error"] == "shorter than an Ethernet header"
    assert doc["summary"] == {
        "packets": 3,
        "verdicts": {"drop": 1, "error": 1, "pass": 1},
        "alerts": 1,
        "alerts_by_component": {"firewall": 1},
    }
    out = io.StringIO()
    render(_results(), "eve", "c.pcap", "c.yaml", [], out)
    (line,) = out.getvalue().splitlines()
    eve = json.loads(line)
    assert (eve["event_type"], eve["alert"]["action"], eve["dest_port"]) == ("alert", "blocked", 80)
    out = io.StringIO()
    render(_results(), "table", "c.pcap", "c.yaml", ["xdp_firewall"], out)
    text = out.getvalue()
    assert "xdp_firewall:deny(drop)" in text and "3 packets (drop 1, error 1, pass 1); 1 alerts" in text
