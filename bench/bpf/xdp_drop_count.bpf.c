// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* Flood ceiling: drop every frame and count it per CPU (the least a dropping program does). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_drops SEC(".maps");

SEC("xdp")
int xdp_bench_drop(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *drops = bpf_map_lookup_elem(&bench_drops, &zero);

	if (drops)
		*drops += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
