"""A stub DNS server for the namespace labs and the query the namespace side sends to it."""

import socket
import struct
import threading

# Run inside a namespace: ``python -c QUERY <server> <name>``; one A query, prints the answer's size.
QUERY = (
    "import socket,struct,sys\n"
    "name=b''.join(bytes([len(p)])+p.encode() for p in sys.argv[2].split('.'))+b'\\0'\n"
    "q=struct.pack('!HHHHHH',0x4242,0x0100,1,0,0,0)+name+struct.pack('!HH',1,1)\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
    "s.sendto(q,(sys.argv[1],53)); print(len(s.recv(512)))\n"
)


class Responder:
    """Answers every A query on ``host:53`` with ``answer`` (TTL ``ttl``)."""

    def __init__(self, host: str, answer: str, ttl: int = 60) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 53))
        self.sock.settimeout(0.2)
        self.record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, 4) + socket.inet_aton(answer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            header = struct.pack("!HHHHHH", struct.unpack("!H", query[:2])[0], 0x8180, 1, 1, 0, 0)
            self.sock.sendto(header + query[12:] + self.record, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
