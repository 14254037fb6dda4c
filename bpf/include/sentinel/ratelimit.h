/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* xdp_ratelimit map ABI. The algorithms are the integer model of
 * sentinel_domain.ratelimit (proven equal packet by packet in tests/bpf).
 *
 * Reloads are atomic: the policy array and the source tries hold two generations of the policy
 * set (array entry = generation * SENTINEL_RL_MAX_POLICIES + index; trie keys are the
 * generation-tagged struct sentinel_fw_lpm_v4_key / _v6_key). Userspace writes the idle
 * generation, then flips rl_switch (struct sentinel_fw_switch), which the program reads once per
 * packet. Per-source buckets are not part of a generation: they survive reloads. */
#ifndef SENTINEL_RATELIMIT_H
#define SENTINEL_RATELIMIT_H

enum {
	SENTINEL_RL_MAX_POLICIES = 10241, /* index 0 = the default policy */
	SENTINEL_RL_MAX_PREFIXES = 10240,
	SENTINEL_RL_MAX_SOURCES = 262144,
	SENTINEL_RL_SLOTS = 8,
	SENTINEL_RL_GENERATIONS = 2,
};

enum sentinel_rl_algorithm {
	SENTINEL_RL_TOKEN_BUCKET = 0,
	SENTINEL_RL_FIXED_WINDOW = 1,
	SENTINEL_RL_SLIDING_WINDOW = 2,
	SENTINEL_RL_LEAKY_BUCKET = 3,
};

enum sentinel_rl_over_limit {
	SENTINEL_RL_ACTION_PASS = 0, /* let it through, flag it (metadata + event) */
	SENTINEL_RL_ACTION_DROP = 1,
};

struct sentinel_rl_policy {
	__u64 ns_per_token; /* token bucket: 1e9 / rate */
	__u64 rate;         /* windows: packets per 1 s window; leaky bucket: drain per second */
	__u64 burst;        /* token bucket: bucket size; leaky bucket: capacity */
	__u32 index;        /* reported as rule_id in events (0 = default policy) */
	__u8 algorithm;     /* enum sentinel_rl_algorithm */
	__u8 action;        /* enum sentinel_rl_over_limit */
	__u8 enabled;       /* 0: no limit at all */
	__u8 _pad;
};
_Static_assert(sizeof(struct sentinel_rl_policy) == 32, "policy size");

/* Per source address; v4 sources are stored IPv4-mapped (::ffff:a.b.c.d). */
struct sentinel_rl_key {
	__u8 addr[16];
};
_Static_assert(sizeof(struct sentinel_rl_key) == 16, "key size");

struct sentinel_rl_counts {
	__u64 passed;
	__u64 throttled;
};
_Static_assert(sizeof(struct sentinel_rl_counts) == 16, "counts size");

enum sentinel_rl_counter {
	SENTINEL_RLC_PASSED = 0,
	SENTINEL_RLC_THROTTLED = 1,
	SENTINEL_RLC_ERRORS = 2,
	SENTINEL_RLC_EVENTS_DROPPED = 3,
	SENTINEL_RLC_SEEN = 4,
	SENTINEL_RLC_EVENTS_EMITTED = 5,
	SENTINEL_RLC_EVENTS_SKIPPED = 6,
	SENTINEL_RLC_RESERVE_FAILED = 7,
	SENTINEL_RLC_FLAGGED = 8, /* over the limit but passed (action pass) */
	SENTINEL_RLC_COUNTER_SLOTS = 16,
};

#endif
