// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* xdp_ratelimit: per-source rate limiting, tail-called by xdp_firewall (slot 0) or attached
 * alone. Policy by longest source prefix (v4/v6), else the default policy (index 0). Buckets
 * live in one LRU hash shared by all CPUs (a spoofed-source flood evicts, never exhausts).
 * LRU hashes cannot hold a bpf_spin_lock, so two CPUs handling the same source at the same
 * instant may race on its bucket: a rare, bounded over-admission, far smaller than the
 * N-CPUs-times limit that per-CPU buckets would give. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sentinel/events.h"
#include "sentinel/firewall.h"
#include "sentinel/parsing.h"
#include "sentinel/ratelimit.h"
#include "sentinel/ringbuf.h"

#define EVENTS_RING_SIZE (1 << 20)
#define NS_PER_SEC 1000000000ULL
#define SLOT_NS (NS_PER_SEC / SENTINEL_RL_SLOTS)
#define LEAKY_RESET_NS (10 * NS_PER_SEC)

const volatile struct sentinel_rl_policy sentinel_abi_rl_policy __attribute__((used));

/* Tests set this to drive the algorithms with explicit timestamps; 0 = real clock. */
volatile __u64 sentinel_test_clock_ns;

struct sentinel_rl_bucket {
	__u8 algorithm;
	__u8 _pad[3];
	__u64 a; /* tokens | count | level | window_total */
	__u64 b; /* last_refill | window_start | last_update | slot_start */
	__u32 slots[SENTINEL_RL_SLOTS];
	__u32 current_slot;
	__u32 _pad2;
};

/* Source prefix (tagged with its generation) -> policy index within that generation. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SENTINEL_RL_GENERATIONS * SENTINEL_RL_MAX_PREFIXES);
	__type(key, struct sentinel_fw_lpm_v4_key);
	__type(value, __u32);
} rl_src_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SENTINEL_RL_GENERATIONS * SENTINEL_RL_MAX_PREFIXES);
	__type(key, struct sentinel_fw_lpm_v6_key);
	__type(value, __u32);
} rl_src_v6 SEC(".maps");

/* Both generations: entry = generation * SENTINEL_RL_MAX_POLICIES + index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_RL_GENERATIONS * SENTINEL_RL_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct sentinel_rl_policy);
} rl_policies SEC(".maps");

/* The active generation: read once per packet, flipped once per reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_fw_switch);
} rl_switch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SENTINEL_RL_MAX_SOURCES);
	__type(key, struct sentinel_rl_key);
	__type(value, struct sentinel_rl_bucket);
} rl_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_RLC_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} rl_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_RL_GENERATIONS * SENTINEL_RL_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct sentinel_rl_counts);
} rl_policy_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RING_SIZE);
} rl_events SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&rl_metrics, &slot);
	if (value)
		*value += 1;
}

static __always_inline void emit(struct sentinel_packet *p, __u8 action, __u32 policy)
{
	if (!sentinel_ring_has_room(&rl_events, EVENTS_RING_SIZE)) {
		count(SENTINEL_RLC_EVENTS_SKIPPED);
		count(SENTINEL_RLC_EVENTS_DROPPED);
		return;
	}
	struct sentinel_packet_event *e = bpf_ringbuf_reserve(&rl_events, sizeof(*e), 0);
	if (!e) {
		count(SENTINEL_RLC_RESERVE_FAILED);
		count(SENTINEL_RLC_EVENTS_DROPPED);
		return;
	}
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	__builtin_memcpy(e->src_addr, p->src, sizeof(e->src_addr));
	__builtin_memcpy(e->dst_addr, p->dst, sizeof(e->dst_addr));
	e->src_port = p->src_port;
	e->dst_port = p->dst_port;
	e->protocol = p->protocol;
	e->event_type = SENTINEL_EVENT_RATELIMIT;
	e->action = action;
	e->flags = p->flags;
	e->rule_id = policy;
	e->vlan_id = p->vlan_id;
	e->cpu_id = bpf_get_smp_processor_id();
	bpf_ringbuf_submit(e, 0);
	count(SENTINEL_RLC_EVENTS_EMITTED);
}

static __always_inline __u64 elapsed(__u64 now, __u64 then)
{
	return now > then ? now - then : 0;
}

/* One step of the bucket: the integer model of sentinel_domain.ratelimit._buckets. */
static __always_inline int step(struct sentinel_rl_bucket *b, const struct sentinel_rl_policy *pol, __u64 now)
{
	if (b->algorithm == SENTINEL_RL_TOKEN_BUCKET) {
		__u64 npt = pol->ns_per_token ? pol->ns_per_token : 1;
		__u64 fresh = elapsed(now, b->b) / npt;
		if (b->a > pol->burst) /* a reload lowered the burst: it binds from this packet */
			b->a = pol->burst;
		if (fresh > 0) {
			b->a = (b->a >= pol->burst || fresh >= pol->burst - b->a) ? pol->burst : b->a + fresh;
			b->b += fresh * npt; /* keep the fractional remainder */
		}
		if (b->a > 0) {
			b->a -= 1;
			return 1;
		}
		return 0;
	}
	if (b->algorithm == SENTINEL_RL_FIXED_WINDOW) {
		if (elapsed(now, b->b) >= NS_PER_SEC) {
			b->a = 1;
			b->b = now;
			return 1;
		}
		if (b->a < pol->rate) {
			b->a += 1;
			return 1;
		}
		return 0;
	}
	if (b->algorithm == SENTINEL_RL_SLIDING_WINDOW) {
		__u64 k = elapsed(now, b->b) / SLOT_NS;
		if (k >= SENTINEL_RL_SLOTS) {
#pragma unroll
			for (int i = 0; i < SENTINEL_RL_SLOTS; i++)
				b->slots[i] = 0;
			b->a = 0;
			b->current_slot = 0;
			b->b = now;
		} else if (k > 0) {
			for (__u32 i = 0; i < SENTINEL_RL_SLOTS - 1 && i < k; i++) {
				__u32 next = (b->current_slot + 1) & (SENTINEL_RL_SLOTS - 1);
				b->current_slot = next;
				b->a -= b->slots[next];
				b->slots[next] = 0;
			}
			b->b += k * SLOT_NS;
		}
		if (b->a < pol->rate) {
			b->slots[b->current_slot & (SENTINEL_RL_SLOTS - 1)] += 1;
			b->a += 1;
			return 1;
		}
		return 0;
	}
	/* leaky bucket: a = level, b = last update */
	__u64 e = elapsed(now, b->b);
	if (e >= LEAKY_RESET_NS) {
		b->a = 0;
		b->b = now;
	} else {
		__u64 scaled = e * pol->rate;
		__u64 drained = scaled / NS_PER_SEC;
		if (drained >= b->a) {
			b->a = 0;
			b->b = now;
		} else if (drained > 0) {
			b->a -= drained;
			b->b = now - (scaled % NS_PER_SEC) / (pol->rate ? pol->rate : 1);
		}
	}
	if (b->a + 1 <= pol->burst) {
		b->a += 1;
		return 1;
	}
	return 0;
}

static __always_inline void fresh_bucket(struct sentinel_rl_bucket *b, const struct sentinel_rl_policy *pol,
					 __u64 now)
{
	b->algorithm = pol->algorithm;
	b->b = now;
	b->current_slot = 0;
	if (pol->algorithm == SENTINEL_RL_TOKEN_BUCKET)
		b->a = pol->burst ? pol->burst - 1 : 0;
	else
		b->a = 1;
	if (pol->algorithm == SENTINEL_RL_SLIDING_WINDOW)
		b->slots[0] = 1;
}

static __always_inline void set_meta_status(struct xdp_md *ctx, __u8 status)
{
	void *data = (void *)(long)ctx->data;
	struct sentinel_xdp_meta *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) <= data && (m->meta_flags & SENTINEL_META_PRESENT))
		m->ratelimit_status = status;
}

SEC("xdp")
int xdp_ratelimit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sentinel_packet p = {};

	count(SENTINEL_RLC_SEEN);
	int parsed = sentinel_parse(data, data_end, &p);
	if (parsed != SENTINEL_PARSE_OK) {
		if (parsed == SENTINEL_PARSE_ERROR)
			count(SENTINEL_RLC_ERRORS);
		count(SENTINEL_RLC_PASSED);
		return XDP_PASS; /* not ours to judge: the firewall already applied its policy */
	}

	/* One read of the switch: the whole packet is judged by one policy generation. */
	__u32 zero = 0;
	struct sentinel_fw_switch *sw = bpf_map_lookup_elem(&rl_switch, &zero);
	__u32 gen = sw ? (sw->active & 1) : 0;

	__u32 *index = NULL;
	struct sentinel_rl_key key = {};
	if (p.is_ipv6) {
		struct sentinel_fw_lpm_v6_key k = {.prefixlen = 8 + 128, .gen = gen};
		__builtin_memcpy(k.addr, p.src_key, 16);
		index = bpf_map_lookup_elem(&rl_src_v6, &k);
		__builtin_memcpy(key.addr, p.src_key, 16);
	} else {
		struct sentinel_fw_lpm_v4_key k = {.prefixlen = 8 + 32, .gen = gen};
		__builtin_memcpy(k.addr, p.src_key, 4);
		index = bpf_map_lookup_elem(&rl_src_v4, &k);
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], p.src_key, 4);
	}
	__u32 policy_index = index ? *index : 0;
	if (policy_index >= SENTINEL_RL_MAX_POLICIES)
		policy_index = 0;
	__u32 slot = gen * SENTINEL_RL_MAX_POLICIES + policy_index;
	struct sentinel_rl_policy *pol = bpf_map_lookup_elem(&rl_policies, &slot);
	if (!pol || !pol->enabled) {
		count(SENTINEL_RLC_PASSED);
		return XDP_PASS;
	}

	__u64 now = sentinel_test_clock_ns ? sentinel_test_clock_ns : bpf_ktime_get_ns();
	int within;
	struct sentinel_rl_bucket *b = bpf_map_lookup_elem(&rl_buckets, &key);
	if (!b || b->algorithm != pol->algorithm) {
		/* First packet of this source (or its algorithm changed): fresh bucket, pass. */
		struct sentinel_rl_bucket fresh = {};
		fresh_bucket(&fresh, pol, now);
		bpf_map_update_elem(&rl_buckets, &key, &fresh, BPF_ANY);
		within = 1;
	} else {
		within = step(b, pol, now);
	}

	struct sentinel_rl_counts *hits = bpf_map_lookup_elem(&rl_policy_hits, &slot);
	if (within) {
		if (hits)
			hits->passed += 1;
		count(SENTINEL_RLC_PASSED);
		set_meta_status(ctx, SENTINEL_RL_PASSED);
		return XDP_PASS;
	}
	if (hits)
		hits->throttled += 1;
	count(SENTINEL_RLC_THROTTLED);
	if (gen)
		p.flags |= SENTINEL_FLAG_GEN1; /* rule_id is an index into generation 1's policies */
	if (pol->action == SENTINEL_RL_ACTION_DROP) {
		emit(&p, SENTINEL_ACTION_DROP, policy_index);
		return XDP_DROP;
	}
	count(SENTINEL_RLC_FLAGGED);
	emit(&p, SENTINEL_ACTION_LOG, policy_index);
	set_meta_status(ctx, SENTINEL_RL_THROTTLED);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
