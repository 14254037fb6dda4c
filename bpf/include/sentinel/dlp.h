/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* uprobe_dlp map and event ABI: the plaintext OpenSSL encrypts (SSL_write, SSL_write_ex) or
 * decrypted (SSL_read, SSL_read_ex), captured from user memory for the DLP engine. */
#ifndef SENTINEL_DLP_H
#define SENTINEL_DLP_H

enum {
	SENTINEL_DLP_CAPTURE_MAX = 4096,     /* plaintext bytes one event can carry */
	SENTINEL_DLP_CAPTURE_DEFAULT = 4096, /* used while the config says 0 */
	SENTINEL_DLP_MAX_PENDING = 10240,    /* SSL_read calls in flight (entry seen, return not yet) */
	SENTINEL_DLP_COMM_LEN = 16,
};

enum sentinel_dlp_direction {
	SENTINEL_DLP_WRITE = 0,
	SENTINEL_DLP_READ = 1,
};

enum sentinel_dlp_event_flag {
	SENTINEL_DLP_F_TRUNCATED = 0x01, /* data_len > captured_len */
	SENTINEL_DLP_F_EX = 0x02,        /* from SSL_write_ex / SSL_read_ex */
};

/* One SSL_write/SSL_read buffer: this 56-byte header, then captured_len bytes of plaintext
 * (the record is exactly that long). */
struct sentinel_dlp_event {
	__u64 timestamp_ns; /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u32 pid;          /* thread id (low half of pid_tgid) */
	__u32 tgid;         /* process id */
	__u64 cgroup_id;
	__u32 data_len;     /* bytes the call wrote or read */
	__u32 captured_len;
	__u8 direction;     /* enum sentinel_dlp_direction */
	__u8 flags;         /* enum sentinel_dlp_event_flag */
	__u16 _pad;
	__u32 uid;
	char comm[SENTINEL_DLP_COMM_LEN];
};
_Static_assert(sizeof(struct sentinel_dlp_event) == 56, "dlp event size");

struct sentinel_dlp_config {
	__u32 capture_len; /* 0: SENTINEL_DLP_CAPTURE_DEFAULT; capped at SENTINEL_DLP_CAPTURE_MAX */
	__u32 _pad;
};
_Static_assert(sizeof(struct sentinel_dlp_config) == 8, "dlp config size");

/* What SSL_read(_ex) was given, kept by thread from entry to return. */
struct sentinel_dlp_pending_read {
	__u64 buf;
	__u64 readbytes; /* SSL_read_ex's size_t *readbytes; 0 for SSL_read */
};
_Static_assert(sizeof(struct sentinel_dlp_pending_read) == 16, "pending read size");

/* Per-CPU counters (0-4 as in the contract's DLP_METRICS).
 * seen = write_events + read_events + empty;
 * write_events + read_events = events_emitted + events_skipped + reserve_failed + errors;
 * events_dropped = events_skipped + reserve_failed + errors. */
enum sentinel_dlp_counter {
	SENTINEL_DLP_WRITE_EVENTS = 0,   /* writes with data to capture */
	SENTINEL_DLP_READ_EVENTS = 1,    /* reads that returned data */
	SENTINEL_DLP_ERRORS = 2,         /* user memory could not be read */
	SENTINEL_DLP_EVENTS_DROPPED = 3,
	SENTINEL_DLP_SEEN = 4,           /* write entries + read returns */
	SENTINEL_DLP_EVENTS_EMITTED = 5,
	SENTINEL_DLP_EVENTS_SKIPPED = 6, /* ring above 75 % */
	SENTINEL_DLP_RESERVE_FAILED = 7,
	SENTINEL_DLP_EMPTY = 8,          /* nothing to capture: failed call, size <= 0, NULL buffer */
	SENTINEL_DLP_TRUNCATED = 9,
	SENTINEL_DLP_UNPAIRED = 10,      /* a read return without its entry (counted in empty too) */
	SENTINEL_DLP_COUNTER_SLOTS = 16,
};

#endif
