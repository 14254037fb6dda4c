"""EveFileAlertSender: the ``log`` destination, one EVE-JSON object per line in a file (deviation 12).

Lines are ``sentinel_domain.alert.to_eve`` (Suricata's ``alert`` event shape plus our
``ebpfsentinel`` object), UTF-8, compact. Rotation: the file is reopened when the path no longer
names the open file (logrotate's rename-and-create, or deletion) and on request
(``EveFileWriter.request_reopen``, which the agent calls on SIGUSR1; it only sets a flag, so it is
safe in a signal handler). A batch is one ``write``; if the disk fills part-way, the file is cut
back to where the batch began, so a retry never leaves half a line or a duplicate.
"""

import asyncio
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from sentinel_domain.alert import Alert, to_eve
from sentinel_ports.alert_sender import AlertSender, TransientDeliveryError

FILE_MODE = 0o640
DIR_MODE = 0o750


def eve_line(alert: Alert) -> bytes:
    """One EVE-JSON line (with its newline) for ``alert``."""
    text = json.dumps(to_eve(alert), ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass") + b"\n"


class EveFileWriter:
    """Appends whole batches of lines to one file; shared by every sender that writes that path."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.reopens = 0  # opens after the first (rotation, signal)
        self.write_errors = 0
        self._fd: int | None = None
        self._reopen_requested = False
        self._lock = threading.Lock()

    def request_reopen(self) -> None:
        """Reopen before the next write (async-signal-safe: sets a flag only)."""
        self._reopen_requested = True

    def write(self, lines: Sequence[bytes]) -> None:
        """Append ``lines`` in one write; raises OSError with the file unchanged on failure."""
        data = b"".join(lines)
        with self._lock:
            try:
                fd = self._ensure_open()
                start = os.fstat(fd).st_size
                written = 0
                try:
                    while written < len(data):
                        written += os.write(fd, data[written:])
                except OSError:
                    if written:
                        os.ftruncate(fd, start)  # no half batch left behind for the retry to repeat
                    raise
            except OSError:
                self.write_errors += 1
                self._close_fd()  # the next attempt starts with a fresh open
                raise

    def close(self) -> None:
        with self._lock:
            self._close_fd()

    def _ensure_open(self) -> int:
        if self._fd is not None and (self._reopen_requested or self._rotated(self._fd)):
            self._close_fd()
            self.reopens += 1
        self._reopen_requested = False
        if self._fd is None:
            self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            self._fd = os.open(self.path, flags, FILE_MODE)
        return self._fd

    def _rotated(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino)

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class EveFileAlertSender(AlertSender):
    kind = "log"

    def __init__(self, writer: EveFileWriter, max_batch: int = 256) -> None:
        self.writer = writer
        self._max_batch = max_batch

    @property
    def max_batch(self) -> int:
        return self._max_batch

    @property
    def batch_interval(self) -> float:
        return 0.0

    async def send(self, alerts: Sequence[Alert]) -> None:
        lines = [eve_line(alert) for alert in alerts]
        try:
            # File writes can block (a full or remote disk); keep them off the event loop.
            await asyncio.get_running_loop().run_in_executor(None, self.writer.write, lines)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write {self.writer.path}: {exc.strerror or exc}") from exc

    async def aclose(self) -> None:
        self.writer.close()
