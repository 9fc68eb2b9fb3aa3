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

/* What one scan found. */
struct emptcp_mptcp_scan {
	__u16 seen;  /* bit (1 << subtype) for every subtype present */
	__u8 count;  /* MPTCP options in the segment */
	__u8 pad;
	struct emptcp_opt first[EMPTCP_MP_SUBTYPES]; /* first option of each subtype seen */
};

/* Subtype of an MPTCP option (its third byte's high nibble). */
static __always_inline __u8 emptcp_mptcp_subtype(const struct emptcp_opts *o,
						 const struct emptcp_opt *opt)
{
	return emptcp_opt_byte(o, opt->off + 2) >> 4;
}

/* State of emptcp_mptcp_scan() inside bpf_loop. */
struct emptcp_mptcp_scan_ctx {
	const struct emptcp_opts *o;
	struct emptcp_mptcp_scan *sc;
	__u32 pos;
	int ret;
};

static long emptcp_mptcp_scan_cb(__u32 i, void *data)
{
	struct emptcp_mptcp_scan_ctx *c = data;
	struct emptcp_mptcp_scan *sc = c->sc;
	struct emptcp_opt opt;
	__u8 sub;
	int r;

	r = emptcp_opt_next(c->o, &c->pos, &opt);
	if (r <= 0) {
		c->ret = r;
		return 1;
	}
	if (opt.kind != EMPTCP_TCPOPT_MPTCP)
		return 0;
	if (opt.len < 3) {
		c->ret = -EMPTCP_E_BAD_OPT;
		return 1;
	}
	sub = emptcp_mptcp_subtype(c->o, &opt) & (EMPTCP_MP_SUBTYPES - 1);
	sc->count++;
	if (!(sc->seen & (1u << sub))) {
		sc->seen |= 1u << sub;
		sc->first[sub] = opt;
	}
	return 0;
}

/* Scans all options (in bpf_loop). Returns the number of MPTCP options or -EMPTCP_E_BAD_OPT
 * (malformed TCP option, or an MPTCP option shorter than 3 bytes). `sc` need not be
 * initialised. */
static __always_inline int emptcp_mptcp_scan(const struct emptcp_opts *o,
					     struct emptcp_mptcp_scan *sc)
{
	struct emptcp_mptcp_scan_ctx c = { .o = o, .sc = sc, .pos = 0, .ret = 0 };

	sc->seen = 0;
	sc->count = 0;
	if (bpf_loop(EMPTCP_OPT_MAX, emptcp_mptcp_scan_cb, &c, 0) < 0)
		return -EMPTCP_E_HELPER;
	return c.ret < 0 ? c.ret : sc->count;
}

/* Whether the scan saw `subtype`. */
static __always_inline int emptcp_mptcp_has(const struct emptcp_mptcp_scan *sc, __u8 subtype)
{
	return (sc->seen >> (subtype & (EMPTCP_MP_SUBTYPES - 1))) & 1;
}

#endif /* EMPTCP_MPTCP_OPT_H */
