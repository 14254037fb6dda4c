"""The project's only ctypes binding: libbpf.so.1 declared once (argtypes/restype).

libbpf 1.x returns ``-errno`` and also sets ``errno``; :func:`check` turns either into a
:class:`~sentinel_adapters.ebpf.errors.BpfError`. Struct layouts match libbpf 1.1's headers
(``sz`` first, so newer libbpf versions accept them). Nothing here runs at import time except
opening the two shared libraries.
"""

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sentinel_adapters.ebpf.errors import BpfError

vp = ctypes.c_void_p
c_int, c_uint32, c_uint64, c_size_t, c_char_p = (
    ctypes.c_int,
    ctypes.c_uint32,
    ctypes.c_uint64,
    ctypes.c_size_t,
    ctypes.c_char_p,
)

lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

XDP_FLAGS_UPDATE_IF_NOEXIST = 1
XDP_FLAGS_SKB_MODE = 2
XDP_FLAGS_DRV_MODE = 4
BPF_TC_INGRESS = 1
BPF_TC_EGRESS = 2
BPF_TC_F_REPLACE = 1
BPF_ANY = 0
BPF_F_TEST_RUN_ON_CPU = 1


class bpf_test_run_opts(ctypes.Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("data_in", vp),
        ("data_out", vp),
        ("data_size_in", c_uint32),
        ("data_size_out", c_uint32),
        ("ctx_in", vp),
        ("ctx_out", vp),
        ("ctx_size_in", c_uint32),
        ("ctx_size_out", c_uint32),
        ("retval", c_uint32),
        ("repeat", c_int),
        ("duration", c_uint32),
        ("flags", c_uint32),
        ("cpu", c_uint32),
        ("batch_size", c_uint32),
    ]


class bpf_tc_hook(ctypes.Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("ifindex", c_int),
        ("attach_point", c_int),
        ("parent", c_uint32),
        ("_pad", c_uint32),
    ]


class bpf_tc_opts(ctypes.Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("prog_fd", c_int),
        ("flags", c_uint32),
        ("prog_id", c_uint32),
        ("handle", c_uint32),
        ("priority", c_uint32),
        ("_pad", c_uint32),
    ]


class bpf_xdp_query_opts(ctypes.Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("prog_id", c_uint32),
        ("drv_prog_id", c_uint32),
        ("hw_prog_id", c_uint32),
        ("skb_prog_id", c_uint32),
        ("attach_mode", ctypes.c_uint8),
        ("_pad", ctypes.c_uint8 * 7),
    ]


class bpf_map_batch_opts(ctypes.Structure):
    _fields_ = [("sz", c_size_t), ("elem_flags", c_uint64), ("flags", c_uint64)]


class bpf_uprobe_opts(ctypes.Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("ref_ctr_offset", c_size_t),
        ("bpf_cookie", c_uint64),
        ("retprobe", ctypes.c_bool),
        ("func_name", c_char_p),
    ]


_PRINT_FN = ctypes.CFUNCTYPE(c_int, c_int, c_char_p, vp)

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "libbpf_set_print": (vp, [vp]),
    "libbpf_num_possible_cpus": (c_int, []),
    "bpf_object__open_file": (vp, [c_char_p, vp]),
    "bpf_object__load": (c_int, [vp]),
    "bpf_object__close": (None, [vp]),
    "bpf_object__find_program_by_name": (vp, [vp, c_char_p]),
    "bpf_object__next_program": (vp, [vp, vp]),
    "bpf_object__find_map_by_name": (vp, [vp, c_char_p]),
    "bpf_object__next_map": (vp, [vp, vp]),
    "bpf_program__fd": (c_int, [vp]),
    "bpf_program__name": (c_char_p, [vp]),
    "bpf_program__set_autoload": (c_int, [vp, ctypes.c_bool]),
    "bpf_map__fd": (c_int, [vp]),
    "bpf_map__name": (c_char_p, [vp]),
    "bpf_map__type": (c_int, [vp]),
    "bpf_map__key_size": (c_uint32, [vp]),
    "bpf_map__value_size": (c_uint32, [vp]),
    "bpf_map__max_entries": (c_uint32, [vp]),
    "bpf_map_update_elem": (c_int, [c_int, vp, vp, c_uint64]),
    "bpf_map_lookup_elem": (c_int, [c_int, vp, vp]),
    "bpf_map_delete_elem": (c_int, [c_int, vp]),
    "bpf_map_get_next_key": (c_int, [c_int, vp, vp]),
    "bpf_map_update_batch": (c_int, [c_int, vp, vp, ctypes.POINTER(c_uint32), vp]),
    "bpf_xdp_attach": (c_int, [c_int, c_int, c_uint32, vp]),
    "bpf_xdp_detach": (c_int, [c_int, c_uint32, vp]),
    "bpf_xdp_query": (c_int, [c_int, c_int, vp]),
    "bpf_tc_hook_create": (c_int, [vp]),
    "bpf_tc_hook_destroy": (c_int, [vp]),
    "bpf_tc_attach": (c_int, [vp, vp]),
    "bpf_tc_detach": (c_int, [vp, vp]),
    "bpf_prog_test_run_opts": (c_int, [c_int, vp]),
    "bpf_program__attach_uprobe_opts": (vp, [vp, c_int, c_char_p, c_size_t, vp]),
    "bpf_link__destroy": (c_int, [vp]),
    "libbpf_get_error": (ctypes.c_long, [vp]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

_libc.vsnprintf.restype = c_int
_libc.vsnprintf.argtypes = [c_char_p, c_size_t, c_char_p, vp]


def check(rc: int, call: str) -> int:
    """Raise BpfError for a negative libbpf return code; return rc otherwise."""
    if rc < 0:
        raise BpfError(-rc, call)
    return rc


def check_ptr(ptr: int | None, call: str) -> int:
    """Raise BpfError for a NULL (or error-encoded) pointer from libbpf."""
    if not ptr:
        raise BpfError(ctypes.get_errno() or 22, call)
    err = lib.libbpf_get_error(ptr)
    if err:
        raise BpfError(-err, call)
    return ptr


# libbpf prints warnings and verifier logs through one global callback. We collect them
# per thread while a call is in flight, so a load failure can carry its verifier log.
_capture = threading.local()


def _print_impl(level: int, fmt: bytes, args: int) -> int:
    buf = ctypes.create_string_buffer(16384)
    _libc.vsnprintf(buf, len(buf), fmt, args)
    lines = getattr(_capture, "lines", None)
    if lines is not None:
        lines.append(buf.value.decode("utf-8", "replace"))
    return 0


_print = _PRINT_FN(_print_impl)  # module-level: libbpf keeps the pointer forever
lib.libbpf_set_print(ctypes.cast(_print, vp))


@contextmanager
def capture_libbpf_output() -> Iterator[list[str]]:
    """Collect what libbpf prints (e.g. the verifier log) during the ``with`` block."""
    previous = getattr(_capture, "lines", None)
    lines: list[str] = []
    _capture.lines = lines
    try:
        yield lines
    finally:
        _capture.lines = previous


def num_possible_cpus() -> int:
    return check(lib.libbpf_num_possible_cpus(), "libbpf_num_possible_cpus")
