// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* Flood generator: run with BPF_F_TEST_XDP_LIVE_FRAMES, every frame is transmitted on the
 * interface in slot 0 (one end of a veth pair); its peer's native XDP program receives it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32); /* ifindex, resolved in the updating process's netns */
} bench_tx_port SEC(".maps");

SEC("xdp")
int xdp_bench_gen(struct xdp_md *ctx)
{
	/* An empty slot aborts (counted nowhere) rather than passing frames to the stack. */
	return bpf_redirect_map(&bench_tx_port, 0, XDP_ABORTED);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
