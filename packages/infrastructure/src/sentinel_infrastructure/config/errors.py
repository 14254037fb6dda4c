"""Configuration errors that say where: file, line, column and key."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    message: str
    key: str = ""  # dotted path, e.g. "firewall.rules[2].src_ip"
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def render(self, source: str) -> str:
        where = source
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` lists every problem found."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(issue.render(source) for issue in issues))
