/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MPTCP options (RFC 8684, TCP option kind 30): subtypes and a one-pass scan that finds the
 * first option of every subtype, so an actor decides with one walk (e.g. "is there an ADD_ADDR,
 * and does another MPTCP option remain?" or "is an MP_PRIO already present?").
 */
#ifndef EMPTCP_MPTCP_OPT_H
#define EMPTCP_MPTCP_OPT_H

#include "tcp_opt.h"

#define EMPTCP_TCPOPT_MPTCP 30

enum emptcp_mptcp_subtype {
	EMPTCP_MP_CAPABLE = 0,
	EMPTCP_MP_JOIN = 1,
	EMPTCP_MP_DSS = 2,
	EMPTCP_MP_ADD_ADDR = 3,
	EMPTCP_MP_RM_ADDR = 4,
	EMPTCP_MP_PRIO = 5,
	EMPTCP_MP_FAIL = 6,
	EMPTCP_MP_FASTCLOSE = 7,
	EMPTCP_MP_TCPRST = 8,
	EMPTCP_MP_SUBTYPES = 16, /* the subtype is 4 bits */
};

/* ADD_ADDR flags byte (third byte): subtype << 4 | reserved | E (echo) bit. */
#define EMPTCP_ADD_ADDR_ECHO 0x01

/* Announcing ADD_ADDRs one segment can carry: every MPTCP option of 3 bytes or more with that
 * subtype counts (and is removed), whatever its length, so 40 option bytes hold at most 13. */
#define EMPTCP_ADD_ADDR_MAX (EMPTCP_OPT_MAX / 3)

/* What one scan found. Only the options the kernel's own walk reads count: the walk stops where
 * the kernel's stops (EOL, a length below 2, an option running past the header), and what came
 * before stays valid, as the kernel has acted on it by then. */
struct emptcp_mptcp_scan {
	__u16 seen;  /* bit (1 << subtype) for every subtype present */
	__u8 count;  /* MPTCP options in the segment */
	__u8 add_addr_count; /* announcing (echo bit clear) ADD_ADDR options among them */
	struct emptcp_opt first[EMPTCP_MP_SUBTYPES]; /* first option of each subtype seen */
	struct emptcp_opt add_addr[EMPTCP_ADD_ADDR_MAX]; /* the announcing ADD_ADDRs, in order */
	__u64 add_addr_bytes; /* bit i set: option byte i belongs to an announcing ADD_ADDR */
	/* walk state, kept in memory on purpose (see emptcp_mptcp_scan) */
	__u32 pos;
	int err; /* -EMPTCP_E_BAD_OPT when a malformed option ended the walk */
};

/* Subtype of an MPTCP option (its third byte's high nibble). */
static __always_inline __u8 emptcp_mptcp_subtype(const struct emptcp_opts *o,
						 const struct emptcp_opt *opt)
{
	return emptcp_opt_byte(o, opt->off + 2) >> 4;
}

/* State of one emptcp_mptcp_scan() walk inside bpf_loop: both point into the scratch. */
struct emptcp_mptcp_walk {
	const struct emptcp_opts *o;
	struct emptcp_mptcp_scan *sc;
};

/* One option per call of bpf_loop: the verifier checks this body once, however many options the
 * walk meets and however many actors of one program scan (an open-coded 40-step loop cost it
 * ~140k instructions per scanning actor). */
static long emptcp_mptcp_scan_step(__u64 i, void *arg)
{
	struct emptcp_mptcp_walk *w = arg;
	const struct emptcp_opts *o = w->o;
	struct emptcp_mptcp_scan *sc = w->sc;
	struct emptcp_opt cur;
	__u32 pos = sc->pos, sub, n;
	int r;

	r = emptcp_opt_next(o, &pos, &cur);
	if (r < 0) {
		sc->err = r;
		return 1;
	}
	if (r == 0)
		return 1;
	sc->pos = pos;
	if (cur.kind != EMPTCP_TCPOPT_MPTCP || cur.len < 3)
		return 0;
	sub = (emptcp_opt_byte(o, cur.off + 2) >> 4) & (EMPTCP_MP_SUBTYPES - 1);
	sc->count++;
	if (!(sc->seen & (1u << sub))) {
		sc->seen |= 1u << sub;
		sc->first[sub] = cur;
	}
	if (sub == EMPTCP_MP_ADD_ADDR && !(emptcp_opt_byte(o, cur.off + 2) & EMPTCP_ADD_ADDR_ECHO)) {
		n = sc->add_addr_count;
		if (n < EMPTCP_ADD_ADDR_MAX)
			sc->add_addr[n] = cur;
		sc->add_addr_count = n + 1;
		/* off + len <= 40: the shift stays inside 64 bits */
		sc->add_addr_bytes |= (((__u64)1 << (cur.len & 63)) - 1) << (cur.off & 63);
	}
	return 0;
}

/* Scans the options as the kernel does (net/mptcp/options.c walks them like tcp_parse_options):
 * returns the number of MPTCP options, or -EMPTCP_E_BAD_OPT when a malformed TCP option ended
 * the walk early, in which case `sc` still describes every option before it (the kernel has
 * parsed those). An MPTCP option of 2 bytes carries no subtype; the kernel ignores it and goes
 * on, so does the scan. Every ADD_ADDR with the echo bit clear is recorded, not only the first:
 * the kernel takes each one it reads, and an echo before an announcement must not hide it.
 *
 * `o` and `sc` must be map memory (the scratch: &s->opts, &s->scan). The walk runs in bpf_loop,
 * which the verifier inlines into a plain loop calling the step: one BPF-to-BPF call per option
 * at run time, one check of the step at load time. */
static __always_inline int emptcp_mptcp_scan(const struct emptcp_opts *o,
					     struct emptcp_mptcp_scan *sc)
{
	struct emptcp_mptcp_walk w = { .o = o, .sc = sc };

	sc->seen = 0;
	sc->count = 0;
	sc->add_addr_count = 0;
	sc->add_addr_bytes = 0;
	sc->pos = 0;
	sc->err = 0;
	if (bpf_loop(EMPTCP_OPT_MAX, emptcp_mptcp_scan_step, &w, 0) < 0)
		return -EMPTCP_E_HELPER;
	return sc->err ? sc->err : sc->count;
}

/* Byte mask (0x80 in every byte of `x` equal to the matching byte of `pattern`): the exact
 * SWAR zero-byte test on x ^ pattern, no false positives. */
static __always_inline __u64 emptcp_bytes_eq(__u64 x, __u64 pattern)
{
	const __u64 low7 = 0x7f7f7f7f7f7f7f7full;
	__u64 t = x ^ pattern;

	return ~(((t & low7) + low7) | t | low7);
}

/* Whether the options may hold an ADD_ADDR: some byte is 30 (the MPTCP kind) and the byte two
 * further on has subtype 3 in its high nibble, at any offset, option boundary or not. A superset
 * of what emptcp_mptcp_scan() finds, computed over whole words without a branch per byte, so an
 * actor that only acts on ADD_ADDRs skips the scan for the usual segment (DSS, timestamps). */
static __always_inline int emptcp_mptcp_may_add_addr(const struct emptcp_opts *o)
{
	const __u64 *w = (const __u64 *)o->buf;
	__u64 m[EMPTCP_OPT_MAX / 8], h[EMPTCP_OPT_MAX / 8 + 1], hit = 0;
	__u32 n = o->len;
	int i;

	h[EMPTCP_OPT_MAX / 8] = 0;
#pragma unroll
	for (i = 0; i < EMPTCP_OPT_MAX / 8; i++) {
		__u64 x = w[i], valid;

		/* bytes at or past the option length are stale: mask them out */
		if (n >= (__u32)(i + 1) * 8)
			valid = ~0ull;
		else if (n <= (__u32)i * 8)
			valid = 0;
		else
			valid = (1ull << ((n - i * 8) * 8)) - 1;
		m[i] = emptcp_bytes_eq(x, 0x1e1e1e1e1e1e1e1eull) & valid;
		h[i] = emptcp_bytes_eq(x & 0xf0f0f0f0f0f0f0f0ull, 0x3030303030303030ull) & valid;
	}
#pragma unroll
	for (i = 0; i < EMPTCP_OPT_MAX / 8; i++)
		hit |= m[i] & ((h[i] >> 16) | (h[i + 1] << 48)); /* byte j of m meets byte j + 2 of h */
	return hit != 0;
}

/* Whether the scan saw `subtype`. */
static __always_inline int emptcp_mptcp_has(const struct emptcp_mptcp_scan *sc, __u8 subtype)
{
	return (sc->seen >> (subtype & (EMPTCP_MP_SUBTYPES - 1))) & 1;
}

#endif /* EMPTCP_MPTCP_OPT_H */
