"""One exception type for everything libbpf or the kernel refuses."""

import os


class BpfError(OSError):
    """A libbpf call failed: carries errno, the call that failed and, for loads, the verifier log."""

    def __init__(self, errno: int, call: str, verifier_log: str = "") -> None:
        super().__init__(errno, f"{call}: {os.strerror(errno)}")
        self.call = call
        self.verifier_log = verifier_log

    def __str__(self) -> str:
        text = super().__str__()
        if self.verifier_log:
            tail = "\n".join(self.verifier_log.strip().splitlines()[-25:])
            text += f"\nverifier log (tail):\n{tail}"
        return text
