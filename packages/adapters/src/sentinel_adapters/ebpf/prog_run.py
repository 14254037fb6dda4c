"""BPF_PROG_TEST_RUN: run a program on a frame without any interface."""

import ctypes
import struct
from dataclasses import dataclass

from sentinel_adapters.ebpf import _libbpf as bpf

XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = range(5)
_XDP_MD = struct.Struct("<6I")  # data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex


@dataclass(frozen=True, slots=True)
class ProgramRunResult:
    retval: int
    data_out: bytes
    duration_ns: int


def prog_test_run(prog_fd: int, frame: bytes, repeat: int = 1, ingress_ifindex: int = 0) -> ProgramRunResult:
    """Run ``prog_fd`` on ``frame`` ``repeat`` times; duration is the kernel's mean ns per run."""
    data_in = ctypes.create_string_buffer(frame, len(frame))
    out = ctypes.create_string_buffer(len(frame) + 256)
    opts = bpf.bpf_test_run_opts(
        sz=ctypes.sizeof(bpf.bpf_test_run_opts),
        data_in=ctypes.cast(data_in, ctypes.c_void_p),
        data_out=ctypes.cast(out, ctypes.c_void_p),
        data_size_in=len(frame),
        data_size_out=len(out),
        repeat=repeat,
    )
    ctx = None
    if ingress_ifindex:
        ctx = ctypes.create_string_buffer(_XDP_MD.pack(0, len(frame), 0, ingress_ifindex, 0, 0))
        opts.ctx_in = ctypes.cast(ctx, ctypes.c_void_p)
        opts.ctx_size_in = _XDP_MD.size
    bpf.check(bpf.lib.bpf_prog_test_run_opts(prog_fd, ctypes.byref(opts)), "bpf_prog_test_run_opts")
    return ProgramRunResult(int(opts.retval), out.raw[: opts.data_size_out], int(opts.duration))
