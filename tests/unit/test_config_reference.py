"""docs/configuration-reference.md is generated from the config models: fail when it is stale."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python tools/gen_config_reference.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", ROOT / "tools" / "gen_config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_config_reference", module)
    spec.loader.exec_module(module)
    return module


def test_the_committed_reference_matches_the_models() -> None:
    expected = generator().render()
    committed = (ROOT / "docs" / "configuration-reference.md").read_text()
    assert committed == expected, (
        "docs/configuration-reference.md is stale: the config models (or the key tables in "
        "docs/configuration.md or docs/alerting.md) changed. Regenerate it with "
        f"`{REGENERATE}` from the repository root and commit the result."
    )


def test_every_key_of_the_models_is_listed() -> None:
    import msgspec.inspect as mi

    from sentinel_infrastructure.config.model import Config

    text = generator().render()

    def paths(struct: mi.StructType, prefix: str) -> list[str]:
        out = []
        for field in struct.fields:
            path = prefix + field.encode_name
            out.append(path)
            inner, is_list = generator().struct_of(field.type)
            if inner is not None:
                out.extend(paths(inner, f"{path}[]." if is_list else f"{path}."))
        return out

    root = mi.type_info(Config)
    assert isinstance(root, mi.StructType)
    keys = paths(root, "")
    assert len(keys) > 100
    missing = [k for k in keys if f"| `{k}` |" not in text]
    assert missing == []


def test_descriptions_come_from_comments_docstrings_and_the_docs_tables() -> None:
    text = generator().render()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    assert "extension: LMDB map size" in rows["`audit.map_size_mib`"]  # a trailing comment
    assert "Storage retention" in text  # a section docstring
    assert "load `xdp_firewall`" in rows["`firewall.enabled`"]  # configuration.md's table
    assert '`"token_bucket"`' in rows["`ratelimit.default_algorithm`"]  # a default
    assert "*required*" in rows["`agent.interfaces`"]
