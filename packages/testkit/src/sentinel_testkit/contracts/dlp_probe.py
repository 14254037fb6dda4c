"""What every DlpProbe must do, checked only through the port (subclass once per implementation)."""

from collections.abc import Iterator

import pytest

from sentinel_ports.dlp_probe import DlpProbe


class DlpProbeContract:
    @staticmethod
    def make_dlp_probe() -> DlpProbe:
        raise NotImplementedError

    @pytest.fixture
    def probe(self) -> Iterator[DlpProbe]:
        subject = self.make_dlp_probe()
        yield subject
        subject.detach()
        getattr(subject, "close", lambda: None)()

    def test_capture_size_within_bounds(self, probe: DlpProbe) -> None:
        assert probe.max_capture_bytes >= 256
        probe.configure(300)
        assert probe.capture_bytes == 300
        probe.configure(probe.max_capture_bytes)
        assert probe.capture_bytes == probe.max_capture_bytes

    @pytest.mark.parametrize("bad", [0, -1, 10**9, True, 2.5])
    def test_out_of_range_capture_sizes_are_refused(self, probe: DlpProbe, bad: object) -> None:
        before = probe.capture_bytes
        with pytest.raises(ValueError, match="capture_bytes"):
            probe.configure(bad)  # type: ignore[arg-type]
        assert probe.capture_bytes == before

    def test_attach_and_detach_are_idempotent(self, probe: DlpProbe) -> None:
        assert not probe.attached
        probe.attach()
        probe.attach()
        assert probe.attached
        probe.detach()
        probe.detach()
        assert not probe.attached

    def test_counters_name_the_accounting(self, probe: DlpProbe) -> None:
        assert {"seen", "events_emitted", "events_dropped"} <= probe.counters().keys()
