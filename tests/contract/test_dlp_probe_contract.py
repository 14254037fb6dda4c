"""DlpProbe contract, run against the real uprobe_dlp program (system libssl) and the fake."""

from sentinel_adapters.ebpf.uprobe import BpfDlpProbe
from sentinel_testkit.contracts.dlp_probe import DlpProbeContract
from sentinel_testkit.fakes.dlp_probe import InMemoryDlpProbe


class TestInMemoryDlpProbe(DlpProbeContract):
    make_dlp_probe = staticmethod(InMemoryDlpProbe)


class TestBpfDlpProbe(DlpProbeContract):
    make_dlp_probe = staticmethod(BpfDlpProbe.standalone)
