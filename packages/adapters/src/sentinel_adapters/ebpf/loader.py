"""Open and load compiled objects; find their programs and maps."""

from importlib import resources
from pathlib import Path

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.maps import BpfMap


def object_path(name: str) -> Path:
    """Path of a compiled object shipped with this package (``xdp_firewall`` → .../xdp_firewall.bpf.o)."""
    path = Path(str(resources.files("sentinel_adapters.ebpf") / "objects" / f"{name}.bpf.o"))
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: build the kernel objects first (make -C bpf)")
    return path


class BpfObject:
    """A loaded BPF object. Close it (or use ``with``) to release its programs and maps."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._obj: int | None = bpf.check_ptr(
            bpf.lib.bpf_object__open_file(str(self.path).encode(), None), "open"
        )
        with bpf.capture_libbpf_output() as log:
            rc = bpf.lib.bpf_object__load(self._obj)
        if rc < 0:
            bpf.lib.bpf_object__close(self._obj)
            self._obj = None
            raise BpfError(-rc, f"bpf_object__load({self.path.name})", "\n".join(log))
        self._maps: dict[str, BpfMap] = {}

    @classmethod
    def load_bundled(cls, name: str) -> "BpfObject":
        return cls(object_path(name))

    def program_fd(self, name: str) -> int:
        prog = bpf.lib.bpf_object__find_program_by_name(self._live(), name.encode())
        if not prog:
            raise BpfError(2, f"find_program({name})")
        return bpf.check(bpf.lib.bpf_program__fd(prog), f"bpf_program__fd({name})")

    def program_handle(self, name: str) -> int:
        prog = bpf.lib.bpf_object__find_program_by_name(self._live(), name.encode())
        if not prog:
            raise BpfError(2, f"find_program({name})")
        return int(prog)

    def map(self, name: str) -> BpfMap:
        if name not in self._maps:
            handle = bpf.lib.bpf_object__find_map_by_name(self._live(), name.encode())
            if not handle:
                raise BpfError(2, f"find_map({name})")
            self._maps[name] = BpfMap(
                name=name,
                fd=bpf.check(bpf.lib.bpf_map__fd(handle), f"bpf_map__fd({name})"),
                map_type=bpf.lib.bpf_map__type(handle),
                key_size=bpf.lib.bpf_map__key_size(handle),
                value_size=bpf.lib.bpf_map__value_size(handle),
                max_entries=bpf.lib.bpf_map__max_entries(handle),
            )
        return self._maps[name]

    def map_names(self) -> list[str]:
        """Every map of the object, including libbpf's internal ones (``<obj>.bss`` …)."""
        names = []
        handle = bpf.lib.bpf_object__next_map(self._live(), None)
        while handle:
            names.append(bpf.lib.bpf_map__name(handle).decode())
            handle = bpf.lib.bpf_object__next_map(self._live(), handle)
        return names

    def close(self) -> None:
        if self._obj:
            bpf.lib.bpf_object__close(self._obj)
            self._obj = None

    def _live(self) -> int:
        if not self._obj:
            raise BpfError(9, f"{self.path.name} is closed")
        return int(self._obj)

    def __enter__(self) -> "BpfObject":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
