"""Harness for the YAML configuration loader: a LoadedConfig or ConfigError, nothing else.

Contract (``load_config`` docstring, bad-inputs.md "Config, rules and regex"): invalid YAML,
wrong types, unknown or duplicate keys, non-UTF-8, tags, alias bombs and deep nesting are all
reported as ConfigError with a location. Each input is written to a private directory (mode
0600, so the world-readable-secrets check passes) beside a small ``local.rules`` file the seed
configs name, and loaded with an empty environment.
"""

import os
import shutil
import tempfile
import warnings
from pathlib import Path

from sentinel_infrastructure.config import ConfigError, load_config

# ruamel warns (ReusedAnchorWarning …) on inputs it still loads; the loader's verdict is what counts.
warnings.filterwarnings("ignore", module=r"ruamel\.")


def _private_workdir() -> Path:
    """This process's own directory; those of fuzzing processes that are gone are removed first.

    libFuzzer ends the process with ``exit()``, so ``atexit`` handlers never run: a directory
    named by pid is cleaned up by the next run instead.
    """
    base = Path(tempfile.gettempdir())
    for old in base.glob(f"{_PREFIX}*"):
        pid = old.name.removeprefix(_PREFIX)
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    work = base / f"{_PREFIX}{os.getpid()}"
    work.mkdir(mode=0o700, exist_ok=True)
    return work


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


_PREFIX = "sentinel-fuzz-config-"
_WORKDIR = _private_workdir()
_CONFIG = _WORKDIR / "config.yaml"
(_WORKDIR / "local.rules").write_text(
    'alert tcp any any -> $HOME_NET 80 (msg:"fuzz"; content:"GET"; sid:1000001; rev:1;)\n'
    'drop udp any any -> any 53 (msg:"dns"; content:"|00 01|"; offset:2; depth:2; sid:1000002;)\n'
)


def fuzz_config(data: bytes) -> None:
    fd = os.open(_CONFIG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    try:
        load_config(_CONFIG, environ={})
    except ConfigError:
        return


HARNESSES = {"config_yaml": fuzz_config}
