"""The fuzz targets: name → harness function, the packages atheris instruments, the input cap.

Importing this module imports no project code, so the runner can import the harness (and with
it the code under test) inside ``atheris.instrument_imports``. Each target's seed corpus is
``corpus/<name>/``.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS_DIR = FUZZ_DIR / "corpus"


@dataclass(frozen=True, slots=True)
class Target:
    """One harness: ``module.HARNESSES[name]`` takes the fuzz input and raises only on a finding."""

    name: str
    module: str
    instrument: tuple[str, ...]
    max_len: int = 4096
    # The short run of the default test command (tests/unit/test_fuzz_smoke.py).
    smoke_runs: int = 100_000
    smoke_max_len: int = 512

    @property
    def corpus(self) -> Path:
        return CORPUS_DIR / self.name

    def harness(self) -> Callable[[bytes], None]:
        """Import the harness module (and the code under test) and return the target's function."""
        module = importlib.import_module(self.module)
        harness: Callable[[bytes], None] = module.HARNESSES[self.name]
        return harness


_DOMAIN = ("sentinel_domain",)
_RING = ("sentinel_adapters",)
_CONFIG = ("sentinel_infrastructure", "sentinel_domain")
_RECORDS = 4096  # ring batches: several whole records even for the 1,296-byte DNS tier
_LINES = 192  # line-oriented text parsers cost ~1 µs per byte: a few lines per smoke input

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("ring_packet_events", "fuzz_ring", _RING, smoke_max_len=_RECORDS),
        Target("ring_dns_events", "fuzz_ring", _RING, smoke_max_len=_RECORDS),
        Target("ring_ids_records", "fuzz_ring", _RING, smoke_max_len=_RECORDS),
        Target("ring_dlp_records", "fuzz_ring", _RING, max_len=8192, smoke_max_len=_RECORDS),
        Target("l7_http", "fuzz_l7", _DOMAIN),
        Target("l7_tls", "fuzz_l7", _DOMAIN),
        Target("l7_grpc", "fuzz_l7", _DOMAIN, smoke_max_len=384),
        Target("l7_smtp", "fuzz_l7", _DOMAIN, smoke_max_len=_LINES),
        Target("l7_ftp", "fuzz_l7", _DOMAIN, smoke_max_len=_LINES),
        Target("l7_smb", "fuzz_l7", _DOMAIN),
        Target("l7_detect", "fuzz_l7", _DOMAIN, max_len=512),
        Target("l7_inspect", "fuzz_l7", _DOMAIN, smoke_max_len=384),
        Target("dns_message", "fuzz_dns", _DOMAIN, max_len=1500),
        Target("dns_hosts", "fuzz_dns", _DOMAIN, smoke_max_len=_LINES),
        Target("dns_plain_list", "fuzz_dns", _DOMAIN, smoke_max_len=_LINES),
        Target("dns_adblock", "fuzz_dns", _DOMAIN, smoke_max_len=_LINES),
        Target("ti_plain", "fuzz_threatintel", _DOMAIN, smoke_max_len=_LINES),
        Target("ti_csv", "fuzz_threatintel", _DOMAIN, smoke_max_len=_LINES),
        Target("ti_json", "fuzz_threatintel", _DOMAIN),
        Target("ti_stix", "fuzz_threatintel", _DOMAIN),
        Target("ti_spamhaus_drop", "fuzz_threatintel", _DOMAIN, smoke_max_len=_LINES),
        Target("ti_feodo", "fuzz_threatintel", _DOMAIN, smoke_max_len=_LINES),
        Target("ti_urlhaus", "fuzz_threatintel", _DOMAIN, smoke_max_len=_LINES),
        Target("ti_zeek_intel", "fuzz_threatintel", _DOMAIN, smoke_max_len=_LINES),
        Target("ids_signatures", "fuzz_ids", _DOMAIN, smoke_max_len=_LINES),
        Target("config_yaml", "fuzz_config", _CONFIG),
    )
}
