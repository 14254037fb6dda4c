"""Recognising and canonicalising one indicator token (IP, CIDR, domain, URL).

``classify`` returns ``(code, canonical)`` or an error string; it never raises. Codes index the
compact columns of ``_batch.IocBatch``.

Rules (each a line error when broken):
- IPv4 is strict dotted-quad (no leading zeros, no shorthand like ``127.1``). Unspecified
  (0.0.0.0/8), loopback (127/8), multicast and reserved (>= 224/4) addresses are refused: no feed
  legitimately lists them and a hosts-file line ``0.0.0.0 x`` would otherwise become an IOC.
  IPv6 likewise refuses ``::``, ``::1``, ``ff00::/8`` and scoped (``%``) addresses.
- CIDRs: host bits are cleared (``1.2.3.4/24`` means ``1.2.3.0/24``); ``/0`` is refused, and so
  are prefixes broader than /8 (IPv4) or /16 (IPv6), which would block a large part of the
  Internet; a full-length prefix is a host.
- Domains (RFC 1035 §2.3.1 "letters, digits, hyphen", relaxed to allow ``_`` which real DNS
  names carry): labels of 1-63 characters, at most 253 in all, at least two labels, a top-level
  label that starts with a letter (so an invalid IPv4 never passes as a domain). Lower-cased,
  trailing dot and a leading ``*.`` removed; non-ASCII names are converted with IDNA.
- URLs: ``http``, ``https``, ``ftp`` only, a host, no whitespace or control characters; scheme
  and host lower-cased, the default port and the fragment dropped, an empty path becomes ``/``.
"""

import ipaddress
import re

V4_HOST, V6_HOST, V4_NET, V6_NET, DOMAIN, URL = range(6)
MAX_TOKEN = 4096
MIN_PREFIX_V4 = 8
MIN_PREFIX_V6 = 16

_OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# a first octet of a routable unicast address: 1-126, 128-223
_FIRST = r"(?:22[0-3]|2[01][0-9]|1[3-9][0-9]|12[0-689]|1[01][0-9]|[1-9][0-9]|[1-9])"
V4_STRICT = re.compile(rf"{_OCT}\.{_OCT}\.{_OCT}\.{_OCT}")
V4_ROUTABLE = rf"{_FIRST}\.{_OCT}\.{_OCT}\.{_OCT}"
_V4_ROUTABLE_RE = re.compile(V4_ROUTABLE)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_TLD = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+{_TLD}")
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]+)([^#]*)(?:#.*)?", re.S)
_URL_SCHEMES = {"http": 80, "https": 443, "ftp": 21}
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")

Classified = tuple[int, str] | str


def _short(token: str) -> str:
    return token if len(token) <= 64 else token[:61] + "..."


def classify_ipv4(token: str) -> Classified:
    if _V4_ROUTABLE_RE.fullmatch(token):
        return (V4_HOST, token)
    if V4_STRICT.fullmatch(token):
        return f"'{token}' is not a routable unicast address"
    return f"invalid IPv4 address '{_short(token)}'"


def _v6(text: str) -> ipaddress.IPv6Address | str:
    if "%" in text:
        return f"scoped IPv6 address '{_short(text)}' is not allowed"
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return f"invalid IPv6 address '{_short(text)}'"


def _unroutable(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if addr.version == 4:
        first = int(addr) >> 24
        return first in {0, 127} or first >= 224
    return addr.is_unspecified or addr.is_loopback or addr.is_multicast


def classify_cidr(token: str) -> Classified:
    addr_text, _, plen_text = token.partition("/")
    if not plen_text.isdigit() or not plen_text.isascii() or len(plen_text) > 3:
        return f"invalid CIDR '{_short(token)}': prefix length must be a number"
    plen = int(plen_text)
    if ":" in addr_text:
        addr6 = _v6(addr_text)
        if isinstance(addr6, str):
            return addr6
        if plen > 128:
            return f"invalid CIDR '{_short(token)}': prefix length must be 0-128"
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = addr6
        minimum, full, host_code, net_code = MIN_PREFIX_V6, 128, V6_HOST, V6_NET
    else:
        if not V4_STRICT.fullmatch(addr_text):
            return f"invalid IPv4 address '{_short(addr_text)}'"
        if plen > 32:
            return f"invalid CIDR '{_short(token)}': prefix length must be 0-32"
        addr = ipaddress.IPv4Address(addr_text)
        minimum, full, host_code, net_code = MIN_PREFIX_V4, 32, V4_HOST, V4_NET
    if plen == 0:
        return f"CIDR '{_short(token)}' /0 would match every address"
    if plen < minimum:
        return f"CIDR '{_short(token)}' is broader than /{minimum}"
    net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
    if _unroutable(net.network_address):
        return f"'{_short(token)}' is not a routable unicast range"
    if plen == full:
        return (host_code, str(net.network_address))
    return (net_code, str(net))


def normalize_domain(token: str) -> str | None:
    """The canonical form of a domain name, or None when it is not a valid one."""
    text = token.strip()
    if text.startswith("*."):
        text = text[2:]
    if text.endswith("."):
        text = text[:-1]
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            return None
    text = text.lower()
    if len(text) > 253 or not _DOMAIN_RE.fullmatch(text):
        return None
    return text


def normalize_url(token: str) -> str | None:
    """The canonical form of an http/https/ftp URL, or None when it is not one."""
    if len(token) > MAX_TOKEN or _BAD_URL_CHARS.search(token):
        return None
    m = _URL_RE.fullmatch(token)
    if m is None:
        return None
    scheme = m.group(1).lower()
    if scheme not in _URL_SCHEMES:
        return None
    authority = m.group(2).lower()
    default = f":{_URL_SCHEMES[scheme]}"
    if authority.endswith(default):
        authority = authority[: -len(default)]
    host = authority.rpartition("@")[2]
    if not host or host.startswith(":"):
        return None
    path = m.group(3) or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{authority}{path}"


def classify(token: str) -> Classified:
    """Recognise one token (already stripped) as an IP, CIDR, domain or URL."""
    if len(token) > MAX_TOKEN:
        return "indicator longer than 4096 characters"
    if "://" in token:
        url = normalize_url(token)
        return (URL, url) if url is not None else f"invalid URL '{_short(token)}'"
    if "/" in token:
        return classify_cidr(token)
    if ":" in token:
        addr = _v6(token)
        if isinstance(addr, str):
            return addr
        if _unroutable(addr):
            return f"'{token}' is not a routable unicast address"
        return (V6_HOST, str(addr))
    if token[:1].isdigit() and not token.strip("0123456789."):
        return classify_ipv4(token)
    domain = normalize_domain(token)
    return (DOMAIN, domain) if domain is not None else f"invalid indicator '{_short(token)}'"
