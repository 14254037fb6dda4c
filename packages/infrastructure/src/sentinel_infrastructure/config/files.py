"""Reading operator-named files (config, rule files) without trusting what the path points at."""

import os
import stat
from pathlib import Path


class NotARegularFileError(OSError):
    """The path is a FIFO, device, directory or socket: reading it could hang or never end."""


def read_bounded(path: str | Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (one more than allowed, so the
    caller can tell "too large" from "exactly at the limit").

    Opened non-blocking and checked with fstat before reading, so ``/dev/zero`` is not read into
    memory and a FIFO with no writer does not block the agent.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFileError(0, "not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            return stream.read(limit + 1)
    finally:
        os.close(fd)
