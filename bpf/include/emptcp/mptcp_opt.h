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

/* What one scan found. Only the options the kernel's own walk reads count: the walk stops where
 * the kernel's stops (EOL, a length below 2, an option running past the header), and what came
 * before stays valid, as the kernel has acted on it by then. */
struct emptcp_mptcp_scan {
	__u16 seen;  /* bit (1 << subtype) for every subtype present */
	__u8 count;  /* MPTCP options in the segment */
	__u8 add_addr_count; /* announcing (echo bit clear) ADD_ADDR options among them */
	struct emptcp_opt first[EMPTCP_MP_SUBTYPES]; /* first option of each subtype seen */
	struct emptcp_opt add_addr; /* the first announcing ADD_ADDR */
	__u64 add_addr_bytes; /* bit i set: option byte i belongs to an announcing ADD_ADDR */
	/* walk state, kept in memory on purpose (see emptcp_mptcp_scan) */
	__u32 pos;
	struct emptcp_opt cur;
};

/* Subtype of an MPTCP option (its third byte's high nibble). */
static __always_inline __u8 emptcp_mptcp_subtype(const struct emptcp_opts *o,
						 const struct emptcp_opt *opt)
{
	return emptcp_opt_byte(o, opt->off + 2) >> 4;
}

/* Scans the options as the kernel does (net/mptcp/options.c walks them like tcp_parse_options):
 * returns the number of MPTCP options, or -EMPTCP_E_BAD_OPT when a malformed TCP option ended
 * the walk early, in which case `sc` still describes every option before it (the kernel has
 * parsed those). An MPTCP option of 2 bytes carries no subtype; the kernel ignores it and goes
 * on, so does the scan. Every ADD_ADDR with the echo bit clear is recorded, not only the first:
 * the kernel takes each one it reads, and an echo before an announcement must not hide it.
 *
 * `o` and `sc` must be map memory (the scratch: &s->opts, &s->scan). The walk is a plain
 * bounded loop whose state lives only in `sc` (volatile accesses keep the compiler from moving
 * it into registers): the verifier does not track map contents, so all paths through one step
 * end in the same state and are pruned, and a step costs a few instructions at run time (no
 * callback call per option as with bpf_loop). */
static __always_inline int emptcp_mptcp_scan(const struct emptcp_opts *o,
					     struct emptcp_mptcp_scan *sc)
{
	volatile struct emptcp_mptcp_scan *v = sc;
	int i, r;

	v->seen = 0;
	v->count = 0;
	v->add_addr_count = 0;
	v->add_addr_bytes = 0;
	v->pos = 0;
#pragma clang loop unroll(disable)
	for (i = 0; i < EMPTCP_OPT_MAX; i++) {
		__u32 pos = v->pos, sub, seen;
		struct emptcp_opt cur;

		r = emptcp_opt_next(o, &pos, &cur);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		v->pos = pos;
		if (cur.kind != EMPTCP_TCPOPT_MPTCP || cur.len < 3)
			continue;
		sub = (emptcp_opt_byte(o, cur.off + 2) >> 4) & (EMPTCP_MP_SUBTYPES - 1);
		v->count = v->count + 1;
		seen = v->seen;
		if (!(seen & (1u << sub))) {
			v->seen = seen | (1u << sub);
			sc->first[sub] = cur;
		}
		if (sub == EMPTCP_MP_ADD_ADDR &&
		    !(emptcp_opt_byte(o, cur.off + 2) & EMPTCP_ADD_ADDR_ECHO)) {
			if (!v->add_addr_count)
				sc->add_addr = cur;
			v->add_addr_count = v->add_addr_count + 1;
			/* off + len <= 40: the shift stays inside 64 bits */
			v->add_addr_bytes = v->add_addr_bytes |
				((((__u64)1 << (cur.len & 63)) - 1) << (cur.off & 63));
		}
	}
	return v->count;
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
