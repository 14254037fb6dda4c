"""The victim's services (threads of this process, in the root namespace) and the servers that run
inside lab namespaces (child processes). Everything here is bounded and closed by ``close``."""

import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

from sentinel_agent.lab import VethLab


class VictimService:
    """Accepts TCP (optionally TLS) on ``host:port``, reads one request, answers ``reply``, closes.
    Keeps the first bytes of every request it read (``requests``)."""

    def __init__(self, host: str, port: int, reply: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.2)
        self.reply = reply
        self.tls = tls
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"victim-{port}")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                conn.settimeout(2)
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                data = conn.recv(4096)
                if data:
                    self.requests.append(data[:512])
                    conn.sendall(self.reply)
            except OSError:
                pass
            finally:
                conn.close()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @classmethod
    def first_free(
        cls, host: str, ports: tuple[int, ...], reply: bytes, tls: ssl.SSLContext | None = None
    ) -> "VictimService":
        """The service on the first of ``ports`` this host lets us bind."""
        for port in ports:
            try:
                return cls(host, port, reply, tls)
            except OSError:
                continue
        raise RuntimeError(f"ports {', '.join(map(str, ports))} are all in use on this host")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)
        self.sock.close()


def self_signed(workdir: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate (``openssl``, valid one day)."""
    cert, key = workdir / "victim-cert.pem", workdir / "victim-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=victim.demo"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


class NsServer:
    """``sentinel_agent.demo.nsserver`` running inside ``lab``'s namespace for at most ``lifetime`` s."""

    def __init__(self, lab: VethLab, lifetime: float, *args: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.netns, sys.executable, "-m", "sentinel_agent.demo.nsserver",
             args[0], str(lifetime), *args[1:]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            ready = self.proc.stdout.readline() if self.proc.stdout else ""
        except BaseException:  # Ctrl-C while it starts: nobody holds this object yet to close it
            self.close()
            raise
        if ready.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""
            self.close()
            raise RuntimeError(f"namespace server {args[0]} did not start: {err.strip()[-300:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
