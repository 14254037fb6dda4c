"""Semantic checks of ``agent.tls``, ``agent.api_rate_limit`` and ``agent.event_workers``
(contract §1.1), reported with their location like every other configuration issue.

TLS files are resolved relative to the configuration file's folder (like rule files); the agent
reads them from the same place (``tls_path``).
"""

import os
from pathlib import Path

from sentinel_infrastructure.config.model import AgentSection

PQ_MODES = ("prefer", "require", "disable")
Issue = tuple[list[str | int], str]  # (path under the document root, message)


def tls_path(base_dir: Path, value: str) -> Path:
    """A TLS file path as configured: absolute, or relative to the configuration's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _readable_file(path: Path) -> str | None:
    """None when ``path`` is a readable regular file, else why not."""
    try:
        if not path.is_file():
            return "does not exist or is not a regular file"
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if not os.access(path, os.R_OK):
        return "is not readable"
    return None


def agent_issues(agent: AgentSection, base_dir: Path) -> list[Issue]:
    issues: list[Issue] = []
    tls = agent.tls
    pq = tls.pq_mode.strip().lower()
    if pq not in PQ_MODES:
        issues.append(
            (
                ["agent", "tls", "pq_mode"],
                f"invalid value '{tls.pq_mode}': expected one of {', '.join(PQ_MODES)}",
            )
        )
    elif pq == "require" and tls.allow_tls12:
        issues.append(
            (["agent", "tls", "allow_tls12"], "allow_tls12 cannot be combined with pq_mode: require")
        )
    elif pq == "require":
        issues.append(
            (
                ["agent", "tls", "pq_mode"],
                "pq_mode: require is not supported: this agent's TLS stack (Python ssl) cannot offer "
                "the X25519MLKEM768 hybrid group; use prefer or disable",
            )
        )
    if tls.enabled:
        for key in ("cert_path", "key_path"):
            value = getattr(tls, key)
            if not value.strip():
                issues.append((["agent", "tls", key], f"{key} is required when tls.enabled is true"))
                continue
            problem = _readable_file(tls_path(base_dir, value))
            if problem is not None:
                issues.append((["agent", "tls", key], f"{key} '{value}' {problem}"))
    limits = agent.api_rate_limit
    for key in ("write_per_second", "write_burst"):
        value = getattr(limits, key)
        if not 1 <= value <= 4_294_967_295:
            issues.append(
                (["agent", "api_rate_limit", key], f"{key} must be between 1 and 4294967295, got {value}")
            )
    if not 1 <= agent.event_workers <= 1024:
        issues.append(
            (
                ["agent", "event_workers"],
                f"event_workers must be between 1 and 1024, got {agent.event_workers}",
            )
        )
    return issues
