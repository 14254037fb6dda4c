"""Attach programs to interfaces: XDP (native, falling back to generic) and TC clsact.

Netlink attach (not bpf_link) so a crashed agent's programs can be found and detached by the
next start; ``detach_xdp`` is idempotent. Interfaces are resolved in the calling thread's netns.
"""

import ctypes
import enum
import socket
from dataclasses import dataclass

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf.errors import BpfError


class XdpMode(enum.Enum):
    AUTO = "auto"  # native, else generic
    NATIVE = "native"
    GENERIC = "generic"


@dataclass(frozen=True, slots=True)
class XdpAttachment:
    interface: str
    ifindex: int
    mode: XdpMode  # the mode actually in use (never AUTO)


def ifindex(interface: str) -> int:
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        raise BpfError(19, f"interface '{interface}' not found") from None


def attach_xdp(prog_fd: int, interface: str, mode: XdpMode = XdpMode.AUTO) -> XdpAttachment:
    """Attach, replacing any program we (or a crashed predecessor) left there."""
    index = ifindex(interface)
    order = {XdpMode.AUTO: [XdpMode.NATIVE, XdpMode.GENERIC]}.get(mode, [mode])
    last: BpfError | None = None
    for candidate in order:
        flags = bpf.XDP_FLAGS_DRV_MODE if candidate is XdpMode.NATIVE else bpf.XDP_FLAGS_SKB_MODE
        detach_xdp(index)  # native and generic cannot coexist; start clean
        try:
            bpf.check(bpf.lib.bpf_xdp_attach(index, prog_fd, flags, None), f"bpf_xdp_attach({interface})")
            return XdpAttachment(interface, index, candidate)
        except BpfError as exc:
            last = exc
    assert last is not None
    raise last


def detach_xdp(index: int) -> None:
    """Remove whatever XDP program is attached in either mode; silent when none."""
    for flags in (bpf.XDP_FLAGS_DRV_MODE, bpf.XDP_FLAGS_SKB_MODE):
        bpf.lib.bpf_xdp_detach(index, flags, None)


def xdp_attached_id(index: int) -> int:
    """The id of the XDP program on ``index`` (0 = none)."""
    opts = bpf.bpf_xdp_query_opts(sz=ctypes.sizeof(bpf.bpf_xdp_query_opts))
    bpf.check(bpf.lib.bpf_xdp_query(index, 0, ctypes.byref(opts)), "bpf_xdp_query")
    return int(opts.prog_id or opts.drv_prog_id or opts.skb_prog_id)


def attach_tc(prog_fd: int, interface: str, egress: bool = False, handle: int = 1, priority: int = 1) -> None:
    """Attach a direct-action classifier on clsact ingress/egress (creating clsact if needed)."""
    hook = _hook(ifindex(interface), egress)
    rc = bpf.lib.bpf_tc_hook_create(ctypes.byref(hook))
    if rc < 0 and rc != -17:  # EEXIST: clsact already there
        bpf.check(rc, f"bpf_tc_hook_create({interface})")
    opts = bpf.bpf_tc_opts(
        sz=ctypes.sizeof(bpf.bpf_tc_opts),
        prog_fd=prog_fd,
        handle=handle,
        priority=priority,
        flags=bpf.BPF_TC_F_REPLACE,
    )
    bpf.check(bpf.lib.bpf_tc_attach(ctypes.byref(hook), ctypes.byref(opts)), f"bpf_tc_attach({interface})")


def detach_tc(interface: str, egress: bool = False, handle: int = 1, priority: int = 1) -> None:
    try:
        hook = _hook(ifindex(interface), egress)
    except BpfError:
        return
    opts = bpf.bpf_tc_opts(sz=ctypes.sizeof(bpf.bpf_tc_opts), handle=handle, priority=priority)
    bpf.lib.bpf_tc_detach(ctypes.byref(hook), ctypes.byref(opts))


def _hook(index: int, egress: bool) -> bpf.bpf_tc_hook:
    point = bpf.BPF_TC_EGRESS if egress else bpf.BPF_TC_INGRESS
    return bpf.bpf_tc_hook(sz=ctypes.sizeof(bpf.bpf_tc_hook), ifindex=index, attach_point=point)
