"""uprobe_dlp on the system libssl: attach/detach, capture sizes, ring accounting, the decoder.

Each capture test runs a child Python that talks TLS to itself over a socketpair (one thread per
end) and attaches the probes to that child's pid only, so the counts are exact whatever else on
the machine uses TLS. tests/integration/test_uprobe_dlp_live.py covers real clients (curl).
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_adapters.ebpf import codec_payload as cp
from sentinel_adapters.ebpf.dlp_source import BpfDlpEventSource
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.uprobe import SSL_PROBES, BpfDlpProbe, find_library, parse_ldconfig
from sentinel_ports.dlp_probe import DlpCapture, DlpDirection

# The child: waits for "go" on stdin (the probes attach in between), then the client end sends
# each chunk with sendall (SSL_write_ex) and the server end reads it back with recv (SSL_read_ex).
CHILD = r"""
import socket, ssl, sys, threading
cert, key, size, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(cert, key)
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client_ctx.check_hostname = False
client_ctx.verify_mode = ssl.CERT_NONE
a, b = socket.socketpair()
received = []
def serve():
    with server_ctx.wrap_socket(b, server_side=True) as s:
        total = 0
        while total < size * count:
            data = s.recv(size)
            if not data:
                break
            received.append(data)
            total += len(data)
sys.stdin.readline()
t = threading.Thread(target=serve)
t.start()
with client_ctx.wrap_socket(a) as c:
    for i in range(count):
        c.sendall((b"chunk-%06d:" % i).ljust(size, b"."))
    t.join(60)
print(sum(map(len, received)), flush=True)
"""


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def run_child(cert: tuple[Path, Path], size: int, count: int, capture: int = 4096) -> tuple[BpfDlpProbe, int]:
    """Start the child, attach a fresh probe to its pid, let it run; (probe, child pid)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cert[0]), str(cert[1]), str(size), str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    probe = BpfDlpProbe.standalone(pid=child.pid)
    try:
        probe.configure(capture)
        probe.attach()
        out, err = child.communicate("go\n", timeout=120)
        assert child.returncode == 0, err
        assert int(out) == size * count
    except BaseException:
        child.kill()
        probe.close()
        raise
    return probe, child.pid


def drain(source: BpfDlpEventSource) -> list[DlpCapture]:
    captures: list[DlpCapture] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (batch := source.read(0.2)):
        captures.extend(batch)
    return captures


def test_ldconfig_listing_is_parsed_for_this_architecture() -> None:
    listing = (
        "3 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibssl.so.3 (libc6) => /usr/lib32/libssl.so.3\n"
        "\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3\n"
        "\tlibssl.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so\n"
    )
    assert parse_ldconfig(listing, "libssl.so.3", "x86_64") == Path("/lib/x86_64-linux-gnu/libssl.so.3")
    assert parse_ldconfig(listing, "libssl.so.3", "riscv64") == Path("/usr/lib32/libssl.so.3")
    assert parse_ldconfig(listing, "libcrypto.so.3", "x86_64") is None
    found = find_library()
    assert found.name == "libssl.so.3" and found.is_file()
    assert find_library(path=found) == found
    with pytest.raises(FileNotFoundError):
        find_library(path="/nonexistent/libssl.so.3")


def test_attach_and_detach_all_six_probes() -> None:
    probe = BpfDlpProbe.standalone()
    try:
        probe.attach()
        probe.attach()  # idempotent
        assert probe.attached and probe._links.attached == list(SSL_PROBES)
        probe.detach()
        probe.detach()
        assert not probe.attached
    finally:
        probe.close()


def test_a_library_without_the_functions_attaches_nothing() -> None:
    probe = BpfDlpProbe.standalone(library=find_library("libc.so.6"))
    try:
        with pytest.raises(BpfError):
            probe.attach()
        assert not probe.attached
    finally:
        probe.close()


def test_capture_size_is_validated() -> None:
    probe = BpfDlpProbe.standalone()
    try:
        for bad in (0, -5, probe.max_capture_bytes + 1):
            with pytest.raises(ValueError):
                probe.configure(bad)
        probe.configure(100)
        assert probe.capture_bytes == 100
    finally:
        probe.close()


def test_writes_and_reads_are_captured_with_pid_direction_and_plaintext(cert: tuple[Path, Path]) -> None:
    probe, pid = run_child(cert, size=300, count=3)
    source = BpfDlpEventSource(probe.bpf_object)
    try:
        captures = drain(source)
        writes = [c for c in captures if c.direction is DlpDirection.WRITE]
        reads = [c for c in captures if c.direction is DlpDirection.READ]
        expected = [(b"chunk-%06d:" % i).ljust(300, b".") for i in range(3)]
        assert [c.data for c in writes] == expected
        assert b"".join(c.data for c in reads) == b"".join(expected)
        assert {c.tgid for c in captures} == {pid}
        assert all(c.pid != pid for c in reads)  # the server end runs in its own thread
        assert all(c.pid == pid and c.original_length == 300 and not c.truncated for c in writes)
        assert {c.comm for c in captures} <= {"python", "python3", "python3.11", "Thread-1 (serve)"}
        counters = probe.counters()
        assert counters["write_events"] == 3 and counters["read_events"] == len(reads)
        assert counters["events_emitted"] == len(captures) and counters["events_dropped"] == 0
    finally:
        source.close()
        probe.close()


def test_captures_are_cut_at_the_configured_size(cert: tuple[Path, Path]) -> None:
    probe, _ = run_child(cert, size=1000, count=2, capture=16)
    source = BpfDlpEventSource(probe.bpf_object)
    try:
        writes = [c for c in drain(source) if c.direction is DlpDirection.WRITE]
        assert [(c.data, c.original_length, c.truncated) for c in writes] == [
            (b"chunk-000000:...", 1000, True),
            (b"chunk-000001:...", 1000, True),
        ]
        assert probe.counters()["truncated"] >= 2
        assert source.stats()["truncated"] >= 2
    finally:
        source.close()
        probe.close()


def test_a_flood_against_a_paused_consumer_is_fully_accounted(cert: tuple[Path, Path]) -> None:
    # 4 KiB records: about 750 fit under the 75 % line of the 4 MiB ring; the child makes ~3000.
    probe, _ = run_child(cert, size=4096, count=1500)
    source = BpfDlpEventSource(probe.bpf_object)  # the consumer was paused all along
    try:
        c = probe.counters()
        captures = c["write_events"] + c["read_events"]
        assert c["write_events"] == 1500
        assert c["seen"] == captures + c["empty"]
        assert c["events_skipped"] > 0
        assert captures == c["events_emitted"] + c["events_skipped"] + c["reserve_failed"] + c["errors"]
        assert c["events_dropped"] == c["events_skipped"] + c["reserve_failed"] + c["errors"]
        assert c["events_emitted"] <= (4 << 20) * 3 // 4 // (cp.DLP_EVENT.size + 4096 + 8) + 1
        consumed = drain(source)
        assert len(consumed) == c["events_emitted"]
        assert source.stats()["decoded"] == source.stats()["consumed"] == len(consumed)
    finally:
        source.close()
        probe.close()


def test_decoder_counts_malformed_records() -> None:
    good = cp.DLP_EVENT.pack(1, 10, 10, 7, 5, 3, 0, 0, 0, 0, b"curl\0") + b"abc"
    bad_length = good[:-1]
    bad_direction = cp.DLP_EVENT.pack(1, 10, 10, 7, 5, 3, 9, 0, 0, 0, b"x") + b"abc"
    over = cp.DLP_EVENT.pack(1, 10, 10, 7, 2, 3, 1, 0, 0, 0, b"x") + b"abc"
    stats = cp.PayloadDecodeStats()
    records = cp.decode_dlp_records([good, good[:20], bad_length, bad_direction, over], stats)
    assert [(r.comm, r.data, r.truncated) for r in records] == [("curl", b"abc", True)]
    assert stats.as_dict() == {"decoded": 1, "too_short": 1, "bad_length": 1, "bad_field": 2}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=20))
def test_decoder_never_raises_and_accounts_for_every_record(records: list[bytes]) -> None:
    stats = cp.PayloadDecodeStats()
    decoded = cp.decode_dlp_records(records, stats)
    assert stats.decoded == len(decoded)
    assert sum(stats.as_dict().values()) == len(records)
