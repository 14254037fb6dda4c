"""Build hook: compile the eBPF objects (``make -C bpf``) whenever this package is built.

The objects are package data of the eBPF adapter. In a source checkout the hook builds them (make
is incremental); outside one (no ``bpf/`` beside the package) there is nothing to build.
"""

import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BpfBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        bpf_dir = Path(self.root).resolve().parents[1] / "bpf"
        if not (bpf_dir / "Makefile").exists():
            return
        if shutil.which("clang") is None or shutil.which("bpftool") is None:
            self.app.display_warning("clang/bpftool not found: eBPF objects not built (run tools/setup.sh)")
            return
        subprocess.run(["make", "-s", "-C", str(bpf_dir)], check=True)
