/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor rm_add_addr: keeps every announced ADD_ADDR (subtype 3, echo bit clear) from the
 * receiver. Where another MPTCP option remains in the segment, the ADD_ADDR bytes become NOPs
 * (checksum fixed); where only ADD_ADDRs were its MPTCP options the segment is dropped, since a
 * segment stripped of all MPTCP options makes the peer fall back to plain TCP
 * (docs/architecture.md, "Removing an ADD_ADDR"). On XDP every removal is reported as an
 * EMPTCP_EV_RM_ADD_ADDR record with the option bytes and seq/ack/window, so user space can
 * replay it: one record per removed option, in segment order; retransmitted copies are handled
 * (and reported) the same way. Echo ADD_ADDRs pass. Options after a malformed one are left as
 * they are: the kernel stops reading there too.
 */
#ifndef EMPTCP_LIB_RM_ADD_ADDR_H
#define EMPTCP_LIB_RM_ADD_ADDR_H

#include <emptcp/mptcp_opt.h>
#include <emptcp/event.h>

#ifdef EMPTCP_HOOK_IS_XDP
/* State of the reports of one segment inside bpf_loop. */
struct emptcp_add_addr_reports {
	emptcp_ctx *ctx;
	struct emptcp_scratch *s;
	__be32 seq;
	__be32 ack;
	__be16 window;
	__u8 dropped;
};

/* Reports removed ADD_ADDR number `i` of the segment: one call per option, so the verifier checks
 * one report whatever their number. */
static long emptcp_report_add_addr_step(__u64 i, void *arg)
{
	struct emptcp_add_addr_reports *w = arg;
	struct emptcp_scratch *s = w->s;
	const struct emptcp_opt *a = &s->scan.add_addr[i < EMPTCP_ADD_ADDR_MAX ? i : 0];
	struct emptcp_ev_add_addr *e;
	__u32 j, off = a->off, len = a->len;

	e = emptcp_event_reserve(sizeof(*e));
	if (!e)
		return 1;
	emptcp_event_hdr_fill(&e->hdr, w->ctx, &s->pkt, EMPTCP_EV_RM_ADD_ADDR, sizeof(*e));
	e->seq = w->seq;
	e->ack = w->ack;
	e->window = w->window;
	e->dropped = w->dropped;
	e->opt_len = len;
#pragma unroll
	for (j = 0; j < EMPTCP_OPT_MAX; j++)
		e->opt[j] = j < len ? emptcp_opt_byte(&s->opts, off + j) : 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Reports every removed option, one record each, in the order they stood in the segment. */
static __always_inline void emptcp_report_add_addrs(emptcp_ctx *ctx, struct emptcp_scratch *s,
						    __u8 dropped)
{
	struct emptcp_add_addr_reports w = { .ctx = ctx, .s = s, .dropped = dropped };
	struct tcphdr *th = emptcp_tcp(ctx, &s->pkt);
	__u32 n = s->scan.add_addr_count;

	if (!th)
		return;
	w.seq = th->seq;
	w.ack = th->ack_seq;
	w.window = th->window;
	bpf_loop(n < EMPTCP_ADD_ADDR_MAX ? n : EMPTCP_ADD_ADDR_MAX, emptcp_report_add_addr_step, &w, 0);
}
#endif

/* Overwrites every option byte set in `bytes` (bit i = option byte i) with NOP, in one write of
 * the option area, and fixes the TCP checksum by the difference of the old and new areas. */
static __always_inline int emptcp_opts_nop(emptcp_ctx *ctx, const struct emptcp_pkt *p,
					   const struct emptcp_opts *o, __u64 bytes)
{
	struct emptcp_opts n;
	__u32 olen = o->len;
	__s64 diff;
	int i;

	if (olen == 0 || olen > EMPTCP_OPT_MAX)
		return -EMPTCP_E_BAD_OPT;
	__builtin_memcpy(&n, o, sizeof(n));
#pragma unroll
	for (i = 0; i < EMPTCP_OPT_MAX; i++) {
		if ((bytes >> i) & 1)
			n.buf[i] = EMPTCP_TCPOPT_NOP;
	}
	diff = bpf_csum_diff((__be32 *)o->buf, olen, (__be32 *)n.buf, olen, 0);
	if (diff < 0)
		return -EMPTCP_E_HELPER;
	if (emptcp_store_bytes(ctx, emptcp_opt_pkt_off(p, 0), n.buf, olen))
		return -EMPTCP_E_HELPER;
	return emptcp_l4_csum_diff(ctx, emptcp_tcp_csum_off(p), (__u32)diff);
}

/* First half of the actor: whether the options may hold an ADD_ADDR (1) or surely do not (0:
 * the usual segment, nothing more to do), read straight from the packet. Cheap and branch-poor,
 * so the entry runs it in line and calls the second half only for a candidate. */
static __always_inline int emptcp_rm_add_addr_wanted(emptcp_ctx *ctx, struct emptcp_scratch *s)
{
	int r = emptcp_mptcp_may_add_addr(ctx, &s->pkt);

	if (r < 0) {
		emptcp_count(EMPTCP_CNT_MALFORMED);
		return 0;
	}
	return r;
}

/* Second half: removes every ADD_ADDR the receiving stack would act on, from a copy of the
 * options. The scan follows the kernel's option walk: options before a
 * malformed one count (the kernel has taken them), an echo does not hide an announcement after
 * it, and a second announcement is removed like the first. */
static __always_inline int emptcp_rm_add_addr_act(emptcp_ctx *ctx, struct emptcp_scratch *s)
{
	struct emptcp_mptcp_scan *sc = &s->scan;
	struct emptcp_opts *o = &s->opts;
	__u8 dropped;

	if (emptcp_opts_load(ctx, &s->pkt, o) <= 0) {
		emptcp_count(EMPTCP_CNT_MALFORMED); /* the pre-check read these bytes: not reached */
		return EMPTCP_ACT_NEXT;
	}
	if (emptcp_mptcp_scan(o, sc) < 0)
		emptcp_count(EMPTCP_CNT_BAD_OPTIONS); /* what precedes the bad option still counts */
	if (!sc->add_addr_count)
		return EMPTCP_ACT_NEXT;
	dropped = sc->count == sc->add_addr_count;
#ifdef EMPTCP_HOOK_IS_XDP
	emptcp_report_add_addrs(ctx, s, dropped);
#endif
	if (dropped) {
		emptcp_count(EMPTCP_CNT_ADD_ADDR_DROPPED);
		return EMPTCP_DROP;
	}
	if (emptcp_opts_nop(ctx, &s->pkt, o, sc->add_addr_bytes) < 0) {
		/* Could not rewrite: the announcement must not get through, so drop. */
		emptcp_count(EMPTCP_CNT_ADD_ADDR_DROPPED);
		return EMPTCP_DROP;
	}
	emptcp_count(EMPTCP_CNT_ADD_ADDR_NOPPED);
	return EMPTCP_ACT_NEXT;
}

/* The whole actor (its own tail-called program). */
static __always_inline int emptcp_rm_add_addr_body(emptcp_ctx *ctx, struct emptcp_scratch *s,
						 const void *param)
{
	if (!emptcp_rm_add_addr_wanted(ctx, s))
		return EMPTCP_ACT_NEXT;
	return emptcp_rm_add_addr_act(ctx, s);
}

#endif /* EMPTCP_LIB_RM_ADD_ADDR_H */
