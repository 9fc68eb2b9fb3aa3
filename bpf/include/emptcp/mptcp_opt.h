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

/* Options the scan walks in an open-coded loop before it hands the rest to bpf_loop: the
 * usual segment (timestamps with their two NOPs, DSS; a SYN's MSS, SACK_PERM, timestamps, NOP,
 * window scale, MP_CAPABLE) fits, so it pays no call per option. Each open-coded step costs the
 * verifier a few thousand instructions; a bpf_loop step is checked once. */
#define EMPTCP_SCAN_INLINE_STEPS 8

/* One option of the walk: 0 to go on, 1 when the walk is over (end of the options, or a
 * malformed option: sc->err). The state lives only in `sc` (volatile accesses keep the compiler
 * from moving it into registers): the verifier does not track map contents, so all paths through
 * one step end in the same state and are pruned. */
static __always_inline int emptcp_mptcp_step(const struct emptcp_opts *o,
					     struct emptcp_mptcp_scan *sc)
{
	volatile struct emptcp_mptcp_scan *v = sc;
	__u32 pos = v->pos, sub, seen, n;
	struct emptcp_opt cur;
	int r;

	r = emptcp_opt_next(o, &pos, &cur);
	if (r < 0) {
		v->err = r;
		return 1;
	}
	if (r == 0)
		return 1;
	v->pos = pos;
	if (cur.kind != EMPTCP_TCPOPT_MPTCP || cur.len < 3)
		return 0;
	sub = (emptcp_opt_byte(o, cur.off + 2) >> 4) & (EMPTCP_MP_SUBTYPES - 1);
	v->count = v->count + 1;
	seen = v->seen;
	if (!(seen & (1u << sub))) {
		v->seen = seen | (1u << sub);
		sc->first[sub] = cur;
	}
	if (sub == EMPTCP_MP_ADD_ADDR && !(emptcp_opt_byte(o, cur.off + 2) & EMPTCP_ADD_ADDR_ECHO)) {
		n = v->add_addr_count;
		if (n < EMPTCP_ADD_ADDR_MAX)
			sc->add_addr[n] = cur;
		v->add_addr_count = n + 1;
		/* off + len <= 40: the shift stays inside 64 bits */
		v->add_addr_bytes = v->add_addr_bytes |
			((((__u64)1 << (cur.len & 63)) - 1) << (cur.off & 63));
	}
	return 0;
}

/* State of the bpf_loop part of emptcp_mptcp_scan(): both point into the scratch. */
struct emptcp_mptcp_walk {
	const struct emptcp_opts *o;
	struct emptcp_mptcp_scan *sc;
};

static long emptcp_mptcp_scan_step(__u64 i, void *arg)
{
	struct emptcp_mptcp_walk *w = arg;

	return emptcp_mptcp_step(w->o, w->sc);
}

/* Scans the options as the kernel does (net/mptcp/options.c walks them like tcp_parse_options):
 * returns the number of MPTCP options, or -EMPTCP_E_BAD_OPT when a malformed TCP option ended
 * the walk early, in which case `sc` still describes every option before it (the kernel has
 * parsed those). An MPTCP option of 2 bytes carries no subtype; the kernel ignores it and goes
 * on, so does the scan. Every ADD_ADDR with the echo bit clear is recorded, not only the first:
 * the kernel takes each one it reads, and an echo before an announcement must not hide it.
 *
 * `o` and `sc` must be map memory (the scratch: &s->opts, &s->scan). The first
 * EMPTCP_SCAN_INLINE_STEPS options are walked in a plain bounded loop (a few instructions per
 * option at run time; a BPF-to-BPF call costs more than a whole step on a kernel with return
 * thunks), the rest, rare, in bpf_loop (one check of the step at load time, whatever the count). */
static __always_inline int emptcp_mptcp_scan(const struct emptcp_opts *o,
					     struct emptcp_mptcp_scan *sc)
{
	volatile struct emptcp_mptcp_scan *v = sc;
	struct emptcp_mptcp_walk w = { .o = o, .sc = sc };
	int i;

	v->seen = 0;
	v->count = 0;
	v->add_addr_count = 0;
	v->add_addr_bytes = 0;
	v->pos = 0;
	v->err = 0;
#pragma clang loop unroll(disable)
	for (i = 0; i < EMPTCP_SCAN_INLINE_STEPS; i++) {
		if (emptcp_mptcp_step(o, sc))
			goto done;
	}
	if (bpf_loop(EMPTCP_OPT_MAX - EMPTCP_SCAN_INLINE_STEPS, emptcp_mptcp_scan_step, &w, 0) < 0)
		return -EMPTCP_E_HELPER;
done:
	return v->err ? v->err : v->count;
}

/* Byte mask (0x80 in every byte of `x` equal to the matching byte of `pattern`): the exact
 * SWAR zero-byte test on x ^ pattern, no false positives. */
static __always_inline __u64 emptcp_bytes_eq(__u64 x, __u64 pattern)
{
	const __u64 low7 = 0x7f7f7f7f7f7f7f7full;
	__u64 t = x ^ pattern;

	return ~(((t & low7) + low7) | t | low7);
}

/* Option word `w` (bytes 8w..8w+7) of the in-flight packet, read straight from the packet, its
 * 32-bit halves past the `n` option bytes zero (n a multiple of 4); -1 when truncated. */
static __always_inline int emptcp_opt_word(emptcp_ctx *ctx, const struct emptcp_pkt *p, __u32 n,
					   __u32 w, __u64 *out)
{
	void *end = emptcp_data_end(ctx);
	__u32 *src, lo = 0, hi = 0;

	if (w * 8 < n) {
		src = emptcp_data(ctx) + (emptcp_opt_pkt_off(p, w * 8) & 0x1ff);
		if ((void *)(src + 1) > end)
			return -1;
		lo = *src;
	}
	if (w * 8 + 4 < n) {
		src = emptcp_data(ctx) + (emptcp_opt_pkt_off(p, w * 8 + 4) & 0x1ff);
		if ((void *)(src + 1) > end)
			return -1;
		hi = *src;
	}
	*out = (__u64)lo | ((__u64)hi << 32); /* little-endian: the first word holds bytes 0-3 */
	return 0;
}

/* Whether the segment's options may hold an ADD_ADDR: some byte is 30 (the MPTCP kind) and the
 * byte two further on has subtype 3 in its high nibble, at any offset, option boundary or not.
 * A superset of what emptcp_mptcp_scan() finds, computed over whole words read straight from the
 * packet (no copy) without a branch per byte, so an actor that only acts on ADD_ADDRs skips the
 * copy and the scan for the usual segment (DSS, timestamps). Bytes past the options are taken as
 * zero, which matches neither test. Returns 1, 0, or -EMPTCP_E_TRUNCATED. */
static __always_inline int emptcp_mptcp_may_add_addr(emptcp_ctx *ctx, const struct emptcp_pkt *p)
{
	__u32 n = p->tcp_hlen - sizeof(struct tcphdr);
	__u64 x, m = 0, h = 0, hn, hit = 0;
	int i;

	if (n > EMPTCP_OPT_MAX || (n & 3))
		return -EMPTCP_E_TRUNCATED;
	/* word i's kind bytes (m) meet subtype bytes (h) two further on, in word i or i + 1 */
#pragma unroll
	for (i = 0; i < EMPTCP_OPT_MAX / 8; i++) {
		if ((__u32)i * 8 < n) {
			if (emptcp_opt_word(ctx, p, n, i, &x))
				return -EMPTCP_E_TRUNCATED;
			hn = emptcp_bytes_eq(x & 0xf0f0f0f0f0f0f0f0ull, 0x3030303030303030ull);
			hit |= m & ((h >> 16) | (hn << 48)); /* the previous word's kinds */
			m = emptcp_bytes_eq(x, 0x1e1e1e1e1e1e1e1eull);
			h = hn;
		}
	}
	hit |= m & (h >> 16); /* the last word's kinds: nothing after it */
	return hit != 0;
}

/* Whether the scan saw `subtype`. */
static __always_inline int emptcp_mptcp_has(const struct emptcp_mptcp_scan *sc, __u8 subtype)
{
	return (sc->seen >> (subtype & (EMPTCP_MP_SUBTYPES - 1))) & 1;
}

#endif /* EMPTCP_MPTCP_OPT_H */
