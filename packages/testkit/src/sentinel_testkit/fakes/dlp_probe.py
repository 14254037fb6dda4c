"""An in-memory DlpProbe (settings and attachment state only; captures come from tests)."""

from sentinel_ports.dlp_probe import DlpProbe


class InMemoryDlpProbe(DlpProbe):
    def __init__(self, max_capture_bytes: int = 4096) -> None:
        self._max = max_capture_bytes
        self._capture = max_capture_bytes
        self._attached = False

    @property
    def max_capture_bytes(self) -> int:
        return self._max

    @property
    def capture_bytes(self) -> int:
        return self._capture

    def configure(self, capture_bytes: int) -> None:
        if (
            isinstance(capture_bytes, bool)
            or not isinstance(capture_bytes, int)
            or not 1 <= capture_bytes <= self._max
        ):
            raise ValueError(f"invalid capture_bytes {capture_bytes}: expected an integer 1-{self._max}")
        self._capture = capture_bytes

    @property
    def attached(self) -> bool:
        return self._attached

    def attach(self) -> None:
        self._attached = True

    def detach(self) -> None:
        self._attached = False

    def counters(self) -> dict[str, int]:
        return {"seen": 0, "events_emitted": 0, "events_dropped": 0}
