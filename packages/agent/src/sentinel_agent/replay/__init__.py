"""``ebpfsentinel-agent replay capture.pcap [-c config.yaml] [-o table|json|eve]`` (docs/replay.md).

Exit codes: 0 replayed (whatever the verdicts), 1 unreadable capture or invalid configuration,
3 the kernel programs could not be loaded (root / CAP_BPF needed). Errors are one message on
stderr, never a traceback.
"""

import os
import sys
import tempfile
from pathlib import Path

# Used when no -c is given: every section at its default (firewall in alert mode with no rules,
# IDS/IPS/DNS/threat intel enabled with nothing to match, rate limiting off). The interface name
# only satisfies the loader: no interface of that name exists, nothing is attached anyway.
BUILTIN_CONFIG = """\
agent:
  interfaces: [replay0]
"""


def run_replay(capture: str, config: str | None, output: str) -> int:
    from sentinel_adapters.ebpf.errors import BpfError
    from sentinel_agent.replay.capture import CaptureError, read_capture
    from sentinel_agent.replay.render import render
    from sentinel_infrastructure.config import ConfigError, load_config

    try:
        if config is None:
            with tempfile.TemporaryDirectory(prefix="ebpfsentinel-replay-") as tmp:
                path = Path(tmp) / "builtin.yaml"
                path.write_text(BUILTIN_CONFIG)
                loaded = load_config(path)
        else:
            loaded = load_config(config)
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 1
    if not os.path.isfile(capture):
        print(f"replay: {capture}: no such capture file", file=sys.stderr)
        return 1
    try:
        # One pass over the file first: a cut or corrupt capture fails before any program loads.
        for _ in read_capture(capture):
            pass
        frames = read_capture(capture)
    except CaptureError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    from sentinel_agent.replay.engine import Replayer

    _logs_to_stderr()
    try:
        replayer = Replayer(loaded)
    except (BpfError, FileNotFoundError, PermissionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"replay: cannot load the kernel programs (root or CAP_BPF needed): {first}", file=sys.stderr)
        return 3
    except Exception as exc:  # e.g. a pattern hyperscan refuses beyond the config's syntax check
        print(f"replay: cannot build the engines from the configuration: {exc}", file=sys.stderr)
        return 1
    if replayer.feed_report:
        print(f"replay: threat-intel feeds: {replayer.feed_report}", file=sys.stderr)
    try:
        results = list(replayer.run(frames))
    except CaptureError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    finally:
        replayer.close()
    render(results, output or "table", capture, config or "(built-in)", replayer.programs, sys.stdout)
    return 0


def _logs_to_stderr() -> None:
    """Engine warnings (skipped signatures, feed failures) go to stderr: stdout is the report."""
    import structlog

    from sentinel_infrastructure.logging import configure_logging

    configure_logging("warn", "text")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
