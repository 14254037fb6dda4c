"""Harness for the Suricata/Snort rule loader: it never raises for rule text.

Contract (``parse_signatures`` docstring): each rule either loads or is reported in ``skipped``
with its line and reason; rules beyond ``max_rules`` are skipped. The input goes in as bytes,
as the config loader reads ``rules_files`` (non-UTF-8 lines are reported, not fatal).
"""

from _support import check

from sentinel_domain.ids import parse_signatures

_VARIABLES = {
    "HOME_NET": "[10.0.0.0/8,192.168.0.0/16,2001:db8::/32]",
    "EXTERNAL_NET": "!$HOME_NET",
    "HTTP_PORTS": "[80,8080]",
    "SHELLCODE_PORTS": "!80",
}
_MAX_RULES = 32


def fuzz_signatures(data: bytes) -> None:
    loaded = parse_signatures(data, _VARIABLES, {"fuzz-class": 2}, max_rules=_MAX_RULES)
    check(len(loaded.rules) <= _MAX_RULES, "more rules loaded than max_rules")
    check(len({(r.gid, r.sid) for r in loaded.rules}) == len(loaded.rules), "a (gid, sid) loaded twice")


HARNESSES = {"ids_signatures": fuzz_signatures}
