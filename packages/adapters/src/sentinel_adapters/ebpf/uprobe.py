"""Uprobes: find a shared library, attach programs to its functions, keep and destroy the links.

``BpfDlpProbe`` (the DlpProbe port) hooks uprobe_dlp into OpenSSL's libssl: SSL_write and
SSL_write_ex at entry, SSL_read and SSL_read_ex at entry and return (kernel-notes §7: Python's
ssl module calls the ``_ex`` variants, curl the plain ones). Probes are system-wide by default
(pid -1): every process mapping that libssl file is observed.
"""

import ctypes
import platform
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf import codec, codec_payload
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_ports.dlp_probe import DlpProbe

DEFAULT_LIBSSL = "libssl.so.3"
_LDCONFIG_ARCH = {"x86_64": "x86-64", "aarch64": "AArch64"}
_U32 = struct.Struct("<I")


def parse_ldconfig(output: str, soname: str, machine: str | None = None) -> Path | None:
    """The path ``ldconfig -p`` lists for ``soname``, preferring this machine's architecture."""
    arch = _LDCONFIG_ARCH.get(machine or platform.machine())
    found: list[tuple[str, str]] = []
    for line in output.splitlines():
        name, sep, path = line.strip().partition(" => ")
        if not sep or name.split(" (", 1)[0] != soname:
            continue
        found.append((name, path.strip()))
    for name, path in found:
        if arch is not None and arch in name:
            return Path(path)
    return Path(found[0][1]) if found else None


def find_library(soname: str = DEFAULT_LIBSSL, path: str | Path | None = None) -> Path:
    """``path`` when given (it must exist), else what the dynamic linker cache says for ``soname``."""
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise FileNotFoundError(f"{candidate}: no such library")
        return candidate
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if Path(p).exists()), None
    )
    if ldconfig is None:
        raise FileNotFoundError("ldconfig not found: configure the library path explicitly")
    listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=10, check=True).stdout
    found = parse_ldconfig(listing, soname)
    if found is None:
        raise FileNotFoundError(f"{soname} is not in the dynamic linker cache (ldconfig -p)")
    return found


@dataclass(frozen=True, slots=True)
class UprobeSpec:
    program: str  # name of the BPF program in the object
    function: str  # symbol in the library (libbpf resolves versioned names)
    retprobe: bool = False


class UprobeLinks:
    """bpf_link pointers of attached uprobes; ``destroy`` detaches them all (idempotent)."""

    def __init__(self) -> None:
        self._links: list[tuple[UprobeSpec, int]] = []

    def attach(self, obj: BpfObject, library: Path, spec: UprobeSpec, pid: int = -1) -> None:
        opts = bpf.bpf_uprobe_opts(
            sz=ctypes.sizeof(bpf.bpf_uprobe_opts), retprobe=spec.retprobe, func_name=spec.function.encode()
        )
        call = f"attach_uprobe({spec.program} -> {library}:{spec.function})"
        with bpf.capture_libbpf_output() as log:  # libbpf's explanation goes into the error
            link = bpf.lib.bpf_program__attach_uprobe_opts(
                obj.program_handle(spec.program), pid, str(library).encode(), 0, ctypes.byref(opts)
            )
        try:
            self._links.append((spec, bpf.check_ptr(link, call)))
        except BpfError as exc:
            raise BpfError(exc.errno or 22, call, "".join(log)) from None

    @property
    def attached(self) -> list[UprobeSpec]:
        return [spec for spec, _ in self._links]

    def destroy(self) -> None:
        while self._links:
            _, link = self._links.pop()
            bpf.lib.bpf_link__destroy(link)


SSL_PROBES = (
    UprobeSpec("dlp_ssl_write", "SSL_write"),
    UprobeSpec("dlp_ssl_write_ex", "SSL_write_ex"),
    UprobeSpec("dlp_ssl_read_entry", "SSL_read"),
    UprobeSpec("dlp_ssl_read_ret", "SSL_read", retprobe=True),
    UprobeSpec("dlp_ssl_read_ex_entry", "SSL_read_ex"),
    UprobeSpec("dlp_ssl_read_ex_ret", "SSL_read_ex", retprobe=True),
)


class BpfDlpProbe(DlpProbe):
    """uprobe_dlp on one libssl file. ``library`` None = ``libssl.so.3`` from ``ldconfig -p``;
    ``pid`` -1 = every process (a pid limits the probes to that process)."""

    def __init__(self, obj: BpfObject, library: str | Path | None = None, pid: int = -1) -> None:
        self._obj = obj
        self._owns_object = False
        self.library = find_library(DEFAULT_LIBSSL, library)
        self.pid = pid
        self._links = UprobeLinks()
        self._capture = codec_payload.DLP_CAPTURE_MAX
        self.configure(self._capture)

    @classmethod
    def standalone(cls, library: str | Path | None = None, pid: int = -1) -> "BpfDlpProbe":
        """Load a private copy of the program (not attached); ``close`` releases it."""
        obj = BpfObject.load_bundled("uprobe_dlp")
        try:
            instance = cls(obj, library, pid)
        except BaseException:
            obj.close()
            raise
        instance._owns_object = True
        return instance

    @property
    def bpf_object(self) -> BpfObject:
        """The loaded object, for reading its ring."""
        return self._obj

    @property
    def max_capture_bytes(self) -> int:
        return codec_payload.DLP_CAPTURE_MAX

    @property
    def capture_bytes(self) -> int:
        return self._capture

    def configure(self, capture_bytes: int) -> None:
        limit = self.max_capture_bytes
        if (
            isinstance(capture_bytes, bool)
            or not isinstance(capture_bytes, int)
            or not 1 <= capture_bytes <= limit
        ):
            raise ValueError(f"invalid capture_bytes {capture_bytes}: expected an integer 1-{limit}")
        self._obj.map("dlp_config").update(_U32.pack(0), codec_payload.DLP_CONFIG.pack(capture_bytes))
        self._capture = capture_bytes

    @property
    def attached(self) -> bool:
        return bool(self._links.attached)

    def attach(self) -> None:
        """Attach all six probes, or none: a failure detaches the ones already attached."""
        if self.attached:
            return
        try:
            for spec in SSL_PROBES:
                self._links.attach(self._obj, self.library, spec, self.pid)
        except BpfError:
            self._links.destroy()
            raise

    def detach(self) -> None:
        self._links.destroy()

    def counters(self) -> dict[str, int]:
        metrics = self._obj.map("dlp_metrics")
        return {
            name: codec.sum_per_cpu_u64(metrics.per_cpu_values(_U32.pack(slot)))
            for slot, name in enumerate(codec_payload.DLP_COUNTERS)
        }

    def close(self) -> None:
        self.detach()
        if self._owns_object:
            self._obj.close()
