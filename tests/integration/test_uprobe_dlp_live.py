"""uprobe_dlp system-wide on libssl.so.3: real TLS clients leak a card number; DLP finds it.

this test process                                child processes
TLS server thread on 127.0.0.1:PORT   <== TLS ==  python ssl client (SSL_write_ex / SSL_read_ex)
(SSL_read_ex / SSL_write_ex)          <== TLS ==  curl              (SSL_write / SSL_read)
probes: SSL_write, SSL_write_ex, SSL_read(+ret), SSL_read_ex(+ret) in every process
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sentinel_adapters.ebpf.dlp_source import BpfDlpEventSource
from sentinel_adapters.ebpf.uprobe import BpfDlpProbe
from sentinel_adapters.matching import HyperscanMatcher
from sentinel_domain.dlp import BUILTIN_PATTERNS, DlpEngine
from sentinel_ports.dlp_probe import DlpCapture, DlpDirection

CARD = b"4111111111111111"
BODY = b"ok: order accepted"
PY_CLIENT = r"""
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)) as s:
    body = b"card=4111111111111111"
    s.sendall(b"POST /pay HTTP/1.0\r\nX-Client: python\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    reply = b""
    while chunk := s.recv(4096):
        reply += chunk
print(reply.decode())
"""


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    assert shutil.which("openssl") and shutil.which("curl"), "apt-get install -y curl openssl"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


class TlsServer:
    """Serves HTTP/1.0 over TLS on 127.0.0.1: reads a request (headers + Content-Length body),
    answers BODY, closes. Records the native thread id it serves from."""

    def __init__(self, cert: tuple[Path, Path]) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(*cert)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(1)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.thread_id = threading.get_native_id()
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += tls.recv(4096)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))  # fmt: skip
                while len(body) < length:
                    body += tls.recv(4096)
                self.requests.append(head + b"\r\n\r\n" + body)
                tls.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def probe() -> Iterator[tuple[BpfDlpProbe, BpfDlpEventSource]]:
    dlp = BpfDlpProbe.standalone()  # libssl.so.3 from ldconfig -p, every process
    source = BpfDlpEventSource(dlp.bpf_object)
    dlp.attach()
    try:
        yield dlp, source
    finally:
        source.close()
        dlp.close()


def joined(captures: list[DlpCapture], tgid: int, direction: DlpDirection) -> bytes:
    return b"".join(c.data for c in captures if c.tgid == tgid and c.direction is direction)


def conversation(source: BpfDlpEventSource, client: int, server: int, request: bytes) -> list[DlpCapture]:
    """Captures of both processes until all four sides of the exchange arrived (5 s at most)."""
    found: list[DlpCapture] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found += [c for c in source.read(0.2) if c.tgid in (client, server)]
        if (
            joined(found, client, DlpDirection.WRITE) == request
            and BODY in joined(found, client, DlpDirection.READ)
            and joined(found, server, DlpDirection.READ) == request
            and BODY in joined(found, server, DlpDirection.WRITE)
        ):
            break
    return found


def python_client(port: int) -> list[str]:
    return [sys.executable, "-c", PY_CLIENT, str(port)]


def curl_client(port: int) -> list[str]:
    url = f"https://127.0.0.1:{port}/pay"
    return ["curl", "-sS", "-k", "--max-time", "10", "--http1.0", "-d", "card=4111111111111111", url]


CLIENTS = {"python-ssl": python_client, "curl": curl_client}


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_a_tls_client_leaking_a_card_number_is_caught(
    cert: tuple[Path, Path], probe: tuple[BpfDlpProbe, BpfDlpEventSource], client: Callable[[int], list[str]]
) -> None:
    dlp, source = probe
    server = TlsServer(cert)
    try:
        proc = subprocess.Popen(client(server.port), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out.strip().endswith(BODY)
        me = os.getpid()
        [request] = server.requests
        assert request.startswith(b"POST /pay HTTP/1.0") and request.endswith(b"card=" + CARD)
        captures = conversation(source, proc.pid, me, request)

        assert joined(captures, proc.pid, DlpDirection.WRITE) == request  # what the client encrypted
        assert BODY in joined(captures, proc.pid, DlpDirection.READ)  # what it decrypted
        assert joined(captures, me, DlpDirection.READ) == request  # the server's side of both
        assert BODY in joined(captures, me, DlpDirection.WRITE)
        client_writes = [c for c in captures if c.tgid == proc.pid and c.direction is DlpDirection.WRITE]
        assert all(c.pid == proc.pid and c.comm == Path(client(0)[0]).name[:15] for c in client_writes)
        assert {c.pid for c in captures if c.tgid == me} == {server.thread_id}

        engine = DlpEngine(BUILTIN_PATTERNS, HyperscanMatcher())
        leaking = next(c for c in client_writes if CARD in c.data)
        findings = engine.scan(leaking.data, gap_after=leaking.truncated)
        assert [f.pattern_id for f in findings] == ["dlp-pci-visa"]
        assert CARD.decode() not in findings[0].preview + findings[0].message(leaking.pid)  # redacted
        assert dlp.counters()["events_emitted"] >= len(captures)
    finally:
        server.close()
