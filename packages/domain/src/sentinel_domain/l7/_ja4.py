"""JA4 TLS client fingerprint (FoxIO JA4 specification, "technical_details/JA4.md").

``JA4 = a_b_c`` where
- a = ``t`` (TLS over TCP) + version (2 chars) + ``d``/``i`` (SNI present or not) + cipher count
  (2 digits) + extension count (2 digits) + first and last character of the first ALPN value;
- b = first 12 hex chars of sha256 over the sorted cipher list (4-hex, comma-joined);
- c = first 12 hex chars of sha256 over the sorted extension list without SNI (0000) and ALPN
  (0010), then ``_`` and the signature algorithms in wire order (the ``_`` part is left out when
  there are none).

GREASE values (RFC 8701) are removed everywhere; counts above 99 print ``99``; an empty list
hashes to ``000000000000``. The four-part form with the signature algorithms in clear, which
some descriptions give as "the fingerprint", is the spec's *raw* output (``ja4_r``).

Points the spec leaves open, and our reading:
- "Protocol Version" when supported_versions is absent = the ClientHello ``legacy_version``
  (the record-layer version is ignored, as the spec says).
- A supported_versions extension holding only GREASE falls back to ``legacy_version``.
- The count of extensions is taken over every extension instance in the hello (a duplicated
  type, itself a protocol violation, is counted twice), matching a wire-level reader.
"""

import hashlib

from sentinel_domain.l7._tls import ClientHello, is_grease

_VERSIONS = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
_EMPTY_HASH = "000000000000"


def _is_alnum(byte: int) -> bool:
    return 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def _alpn_chars(hello: ClientHello) -> str:
    """First and last character of the first ALPN value; hex digits when either is not alphanumeric."""
    if not hello.alpn_protocols or not hello.alpn_protocols[0]:
        return "00"
    first = hello.alpn_protocols[0]
    if _is_alnum(first[0]) and _is_alnum(first[-1]):
        return chr(first[0]) + chr(first[-1])
    text = first.hex()
    return text[0] + text[-1]


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def _hex_list(values: list[int]) -> str:
    return ",".join(f"{v:04x}" for v in values)


def _parts(hello: ClientHello, original_order: bool) -> tuple[str, str, str, str]:
    """(a, cipher list, extension list, signature algorithms) before hashing."""
    ciphers = [c for c in hello.cipher_suites if not is_grease(c)]
    extensions = [e for e in hello.extensions if not is_grease(e)]
    sigalgs = [s for s in hello.signature_algorithms if not is_grease(s)]
    a = (
        "t"
        + _VERSIONS.get(hello.version, "00")
        + ("d" if 0x0000 in extensions else "i")
        + f"{min(len(ciphers), 99):02d}"
        + f"{min(len(extensions), 99):02d}"
        + _alpn_chars(hello)
    )
    if original_order:
        return a, _hex_list(ciphers), _hex_list(extensions), _hex_list(sigalgs)
    hashed_exts = sorted(e for e in extensions if e not in (0x0000, 0x0010))
    return a, _hex_list(sorted(ciphers)), _hex_list(hashed_exts), _hex_list(sigalgs)


def ja4(hello: ClientHello, *, original_order: bool = False) -> str:
    """The JA4 fingerprint of a complete ClientHello (``ja4_o`` with ``original_order=True``).

    ``original_order`` hashes ciphers and extensions in wire order, SNI and ALPN included, as the
    spec's ``-o`` option does.
    """
    a, ciphers, extensions, sigalgs = _parts(hello, original_order)
    b = _hash12(ciphers) if ciphers else _EMPTY_HASH
    c_text = f"{extensions}_{sigalgs}" if sigalgs else extensions
    c = _hash12(c_text) if extensions else _EMPTY_HASH
    return f"{a}_{b}_{c}"


def ja4_raw(hello: ClientHello, *, original_order: bool = False) -> str:
    """The unhashed form ``ja4_r`` (``ja4_ro`` with ``original_order=True``): a_ciphers_exts_sigalgs."""
    a, ciphers, extensions, sigalgs = _parts(hello, original_order)
    return f"{a}_{ciphers}_{extensions}" + (f"_{sigalgs}" if sigalgs else "")
