// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* tc_xdpmeta: the smallest reader of the XDP -> TC metadata. It counts packets that arrive
 * with and without xdp_firewall's metadata and keeps the last one, so tests (and operators
 * debugging a driver) can see that the metadata survives to TC. The TC programs of the next
 * stage read the same struct the same way instead of re-parsing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sentinel/firewall.h"

#define TC_ACT_UNSPEC (-1)

struct sentinel_meta_probe {
	__u64 with_meta;
	__u64 without_meta;
	struct sentinel_xdp_meta last;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_meta_probe);
} meta_probe SEC(".maps");

SEC("tc")
int tc_xdpmeta(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct sentinel_meta_probe *probe = bpf_map_lookup_elem(&meta_probe, &zero);
	if (!probe)
		return TC_ACT_UNSPEC;
	void *data = (void *)(long)skb->data;
	struct sentinel_xdp_meta *m = (void *)(long)skb->data_meta;
	if ((void *)(m + 1) > data || !(m->meta_flags & SENTINEL_META_PRESENT)) {
		__sync_fetch_and_add(&probe->without_meta, 1);
		return TC_ACT_UNSPEC;
	}
	__sync_fetch_and_add(&probe->with_meta, 1);
	probe->last = *m;
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
