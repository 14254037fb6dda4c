// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* uprobe_dlp: plaintext of TLS connections for the DLP engine. Uprobes on OpenSSL's
 * SSL_write and SSL_write_ex copy the buffer being encrypted; SSL_read and SSL_read_ex are
 * probed at entry (remember the buffer) and at return (copy what was decrypted into it).
 * Python's ssl module calls the _ex variants, curl the plain ones, so all four are hooked. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sentinel/dlp.h"
#include "sentinel/ringbuf.h"

#define DLP_RING_SIZE (4 << 20)

/* Referenced so the ABI structs reach the object's BTF for the layout test. */
const volatile struct sentinel_dlp_event sentinel_abi_dlp_event __attribute__((used));
const volatile struct sentinel_dlp_config sentinel_abi_dlp_config __attribute__((used));
const volatile enum sentinel_dlp_counter sentinel_abi_dlp_counter __attribute__((used));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_dlp_config);
} dlp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SENTINEL_DLP_MAX_PENDING);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct sentinel_dlp_pending_read);
} dlp_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_DLP_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} dlp_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DLP_RING_SIZE);
} dlp_events SEC(".maps");

/* The record is built here, then copied to the ring at its exact length. */
struct dlp_record {
	struct sentinel_dlp_event hdr;
	__u8 data[SENTINEL_DLP_CAPTURE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dlp_record);
} dlp_scratch SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&dlp_metrics, &slot);
	if (value)
		*value += 1;
}

static __always_inline void dropped(__u32 cause)
{
	count(cause);
	count(SENTINEL_DLP_EVENTS_DROPPED);
}

/* Copy up to the configured number of bytes of buf (len of them were written or read). */
static __always_inline int capture(const void *buf, __s64 len, __u8 direction, __u8 flags)
{
	__u32 zero = 0;

	if (!buf || len <= 0) {
		count(SENTINEL_DLP_EMPTY);
		return 0;
	}
	count(direction == SENTINEL_DLP_WRITE ? SENTINEL_DLP_WRITE_EVENTS : SENTINEL_DLP_READ_EVENTS);
	/* Above 75 % the event is skipped, counted; the traced program is never slowed down more. */
	if (!sentinel_ring_has_room(&dlp_events, DLP_RING_SIZE)) {
		dropped(SENTINEL_DLP_EVENTS_SKIPPED);
		return 0;
	}
	struct dlp_record *rec = bpf_map_lookup_elem(&dlp_scratch, &zero);
	if (!rec) {
		dropped(SENTINEL_DLP_ERRORS);
		return 0;
	}
	struct sentinel_dlp_config *cfg = bpf_map_lookup_elem(&dlp_config, &zero);
	__u64 cap = cfg && cfg->capture_len ? cfg->capture_len : SENTINEL_DLP_CAPTURE_DEFAULT;
	/* Clamp in 64 bits (kernel-notes §7): clang 14 passes the unclamped register otherwise. */
	__u64 n = (__u64)len;
	if (n > cap)
		n = cap;
	if (n > SENTINEL_DLP_CAPTURE_MAX)
		n = SENTINEL_DLP_CAPTURE_MAX;
	barrier_var(n);
	if (n == 0 || n > SENTINEL_DLP_CAPTURE_MAX) { /* unreachable; the verifier wants it said */
		dropped(SENTINEL_DLP_ERRORS);
		return 0;
	}
	if (bpf_probe_read_user(rec->data, n, buf)) {
		dropped(SENTINEL_DLP_ERRORS);
		return 0;
	}
	if (n < (__u64)len) {
		flags |= SENTINEL_DLP_F_TRUNCATED;
		count(SENTINEL_DLP_TRUNCATED);
	}
	struct sentinel_dlp_event *e = &rec->hdr;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->data_len = len > 0xFFFFFFFF ? 0xFFFFFFFF : (__u32)len;
	e->captured_len = n;
	e->direction = direction;
	e->flags = flags;
	e->_pad = 0;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_ringbuf_output(&dlp_events, rec, sizeof(struct sentinel_dlp_event) + n, 0)) {
		dropped(SENTINEL_DLP_RESERVE_FAILED);
		return 0;
	}
	count(SENTINEL_DLP_EVENTS_EMITTED);
	return 0;
}

static __always_inline int remember_read(void *buf, void *readbytes)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sentinel_dlp_pending_read pending = {.buf = (__u64)buf, .readbytes = (__u64)readbytes};
	bpf_map_update_elem(&dlp_pending, &pid_tgid, &pending, BPF_ANY);
	return 0;
}

/* The entry's saved arguments, removed from the map; false when the entry was not seen. */
static __always_inline int take_read(struct sentinel_dlp_pending_read *out)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sentinel_dlp_pending_read *pending = bpf_map_lookup_elem(&dlp_pending, &pid_tgid);
	if (!pending) {
		count(SENTINEL_DLP_UNPAIRED);
		count(SENTINEL_DLP_EMPTY);
		return 0;
	}
	*out = *pending;
	bpf_map_delete_elem(&dlp_pending, &pid_tgid);
	return 1;
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(dlp_ssl_write, void *ssl, const void *buf, int num)
{
	count(SENTINEL_DLP_SEEN);
	return capture(buf, num, SENTINEL_DLP_WRITE, 0);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(dlp_ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	count(SENTINEL_DLP_SEEN);
	return capture(buf, (__s64)num, SENTINEL_DLP_WRITE, SENTINEL_DLP_F_EX);
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(dlp_ssl_read_entry, void *ssl, void *buf, int num)
{
	return remember_read(buf, NULL);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(dlp_ssl_read_ex_entry, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return remember_read(buf, readbytes);
}

/* SSL_read returns the number of bytes read, or <= 0. */
SEC("uretprobe")
int BPF_KRETPROBE(dlp_ssl_read_ret, int ret)
{
	struct sentinel_dlp_pending_read pending;

	count(SENTINEL_DLP_SEEN);
	if (!take_read(&pending))
		return 0;
	return capture((const void *)pending.buf, ret, SENTINEL_DLP_READ, 0);
}

/* SSL_read_ex returns 1 and stores the byte count in *readbytes, or returns 0. */
SEC("uretprobe")
int BPF_KRETPROBE(dlp_ssl_read_ex_ret, int ret)
{
	struct sentinel_dlp_pending_read pending;
	__u64 len = 0;

	count(SENTINEL_DLP_SEEN);
	if (!take_read(&pending))
		return 0;
	if (ret == 1 && pending.readbytes &&
	    bpf_probe_read_user(&len, sizeof(len), (const void *)pending.readbytes))
		len = 0;
	return capture((const void *)pending.buf, ret == 1 ? (__s64)len : 0, SENTINEL_DLP_READ,
		       SENTINEL_DLP_F_EX);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
