"""Small servers the demo runs *inside* a lab namespace (``ip netns exec NS python -m ...``).

Stdlib only, bounded: each exits after ``deadline`` seconds at the latest, or on SIGTERM.
It prints ``ready`` once its socket is bound so the demo knows when to go on.

    dns  <deadline> <answer-ip>                       UDP :53, every A query -> answer-ip (TTL 60)
    http <deadline> <port> <feed-file> <webhook-log>  GET /feed.txt -> the feed file; POST -> one
                                                      line appended to webhook-log per request body
"""

import http.server
import signal
import socket
import struct
import sys
import threading
import time


def _dns(deadline: float, answer: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 53))
    sock.settimeout(0.2)
    address = socket.inet_aton(answer)
    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            query, peer = sock.recvfrom(512)
        except TimeoutError:
            continue
        if len(query) < 17:
            continue
        end = 12
        while end < len(query) and query[end]:
            end += query[end] + 1
        question = query[12 : end + 5]
        header = struct.pack("!HHHHHH", struct.unpack_from("!H", query)[0], 0x8180, 1, 1, 0, 0)
        record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + address
        sock.sendto(header + question + record, peer)


def _http(deadline: float, port: int, feed_file: str, webhook_log: str) -> None:
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with open(feed_file, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20))
            with lock, open(webhook_log, "ab") as f:
                f.write(body.replace(b"\n", b" ") + b"\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.timeout = 0.2
    print("ready", flush=True)
    while time.monotonic() < deadline:
        server.handle_request()
    server.server_close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mode, deadline = argv[0], time.monotonic() + float(argv[1])
    if mode == "dns":
        _dns(deadline, argv[2])
    elif mode == "http":
        _http(deadline, int(argv[2]), argv[3], argv[4])
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
