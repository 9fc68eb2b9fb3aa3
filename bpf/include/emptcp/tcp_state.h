/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a segment's TCP/MPTCP state out of its copied options (tcp_opt.h, mptcp_opt.h):
 * the TCP timestamps (RFC 7323) and the MPTCP data ACK of a DSS option (RFC 8684 §3.3).
 *
 *	struct emptcp_ts ts;
 *	if (emptcp_opt_ts(&s->opts, &ts) == 0) ... ts.val, ts.ecr (host order)
 */
#ifndef EMPTCP_TCP_STATE_H
#define EMPTCP_TCP_STATE_H

#include "mptcp_opt.h"

#define EMPTCP_TCP_FIN 0x01
#define EMPTCP_TCP_SYN 0x02
#define EMPTCP_TCP_RST 0x04
#define EMPTCP_TCP_ACK 0x10

/* DSS flags byte (the option's fourth byte). */
#define EMPTCP_DSS_A 0x01 /* data ACK present */
#define EMPTCP_DSS_a 0x02 /* data ACK is 8 bytes */

struct emptcp_ts {
	__u32 val; /* TSval, host order */
	__u32 ecr; /* TSecr, host order */
};

/* `n` bytes from option offset `off`, big endian, into a host-order number (n <= 8). */
static __always_inline __u64 emptcp_opt_be(const struct emptcp_opts *o, __u32 off, __u32 n)
{
	__u64 v = 0;
	__u32 i;

	for (i = 0; i < 8; i++)
		if (i < n)
			v = (v << 8) | emptcp_opt_byte(o, off + i);
	return v;
}

/* The timestamps option. Returns 0, -EMPTCP_E_NOT_FOUND, or -EMPTCP_E_BAD_OPT (length not 10).
 * Fast path: the layout every stack sends (NOP NOP TS first, RFC 7323 appendix A) is read
 * without a walk. */
static __always_inline int emptcp_opt_ts(const struct emptcp_opts *o, struct emptcp_ts *ts)
{
	struct emptcp_opt opt;
	int r;

	if (o->len >= 12 && emptcp_opt_byte(o, 0) == EMPTCP_TCPOPT_NOP &&
	    emptcp_opt_byte(o, 1) == EMPTCP_TCPOPT_NOP && emptcp_opt_byte(o, 2) == EMPTCP_TCPOPT_TS &&
	    emptcp_opt_byte(o, 3) == 10) {
		ts->val = emptcp_opt_be(o, 4, 4);
		ts->ecr = emptcp_opt_be(o, 8, 4);
		return 0;
	}
	r = emptcp_opt_find(o, EMPTCP_TCPOPT_TS, &opt);
	if (r < 0)
		return r;
	if (opt.len != 10)
		return -EMPTCP_E_BAD_OPT;
	ts->val = emptcp_opt_be(o, opt.off + 2, 4);
	ts->ecr = emptcp_opt_be(o, opt.off + 6, 4);
	return 0;
}

/* The data ACK of the segment's DSS option (after emptcp_mptcp_scan). 32-bit data ACKs are
 * zero-extended. Returns 0, -EMPTCP_E_NOT_FOUND (no DSS, or a DSS without data ACK), or
 * -EMPTCP_E_BAD_OPT (the DSS is too short for its flags). */
static __always_inline int emptcp_dss_data_ack(const struct emptcp_opts *o,
					       const struct emptcp_mptcp_scan *sc, __u64 *ack)
{
	const struct emptcp_opt *d = &sc->first[EMPTCP_MP_DSS];
	__u8 flags;
	__u32 n;

	if (!emptcp_mptcp_has(sc, EMPTCP_MP_DSS))
		return -EMPTCP_E_NOT_FOUND;
	flags = emptcp_opt_byte(o, d->off + 3);
	if (!(flags & EMPTCP_DSS_A))
		return -EMPTCP_E_NOT_FOUND;
	n = flags & EMPTCP_DSS_a ? 8 : 4;
	if (d->len < 4 + n)
		return -EMPTCP_E_BAD_OPT;
	*ack = emptcp_opt_be(o, d->off + 4, n);
	return 0;
}

#endif /* EMPTCP_TCP_STATE_H */
