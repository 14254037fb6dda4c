// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* Baseline for test-run timings: the cheapest possible XDP program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
