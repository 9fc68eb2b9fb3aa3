/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor catch_mptcp_events (tc): reports the MPTCP life of the connections it sees leave, as
 * struct emptcp_ev_mptcp records in `emptcp_events` (abi.h):
 *
 *   EMPTCP_EV_MP_CAPABLE  every segment carrying MP_CAPABLE: the sender's key when the option
 *                         has one (12+ bytes: SYN/ACK, third ACK), the receiver's key when it has
 *                         both (20+ bytes: third ACK, first data); v1 SYNs carry no key.
 *   EMPTCP_EV_MP_JOIN     the SYN of a new subflow (MP_JOIN with SYN and without ACK): the
 *                         receiver's token, as on the wire.
 *   EMPTCP_EV_MP_PRIO     a segment carrying MP_PRIO (subtype_flags holds the B bit).
 *   EMPTCP_EV_FIN / RST   every segment with FIN / RST (of any TCP flow the chain selects).
 *
 * subtype_flags is the option's third byte (subtype << 4 | version/flags), 0 for FIN/RST;
 * tcp_flags is byte 13 of the TCP header. Keys and token are copied byte for byte.
 * A segment with malformed options still reports its FIN/RST (EMPTCP_CNT_BAD_OPTIONS counted);
 * a full ring is counted (EMPTCP_CNT_RINGBUF_FULL). The packet is never changed.
 */
#ifndef EMPTCP_LIB_CATCH_MPTCP_EVENTS_H
#define EMPTCP_LIB_CATCH_MPTCP_EVENTS_H

#include <emptcp/tcp_state.h>
#include <emptcp/event.h>

/* Reserves and fills the common part of an emptcp_ev_mptcp record (NULL when the ring is full). */
static __always_inline struct emptcp_ev_mptcp *emptcp_ev_mptcp_new(emptcp_ctx *ctx,
								   const struct emptcp_pkt *p,
								   __u16 type, __u8 subtype_flags)
{
	struct emptcp_ev_mptcp *e = emptcp_event_reserve(sizeof(*e));

	if (!e)
		return NULL;
	emptcp_event_hdr_fill(&e->hdr, ctx, p, type, sizeof(*e));
	e->subtype_flags = subtype_flags;
	e->tcp_flags = p->tcp_flags;
	e->has_local_key = 0;
	e->has_remote_key = 0;
	e->token = 0;
	e->local_key = 0;
	e->remote_key = 0;
	return e;
}

/* Copies 8 option bytes at `off` into `dst` unchanged (wire order). */
static __always_inline void emptcp_opt_copy8(const struct emptcp_opts *o, __u32 off, __u64 *dst)
{
	__u8 *d = (__u8 *)dst;
	int i;

	for (i = 0; i < 8; i++)
		d[i] = emptcp_opt_byte(o, off + i);
}

static __always_inline void emptcp_report_options(emptcp_ctx *ctx, const struct emptcp_pkt *p,
						  const struct emptcp_opts *o,
						  const struct emptcp_mptcp_scan *sc)
{
	struct emptcp_ev_mptcp *e;
	struct emptcp_opt a;

	if (emptcp_mptcp_has(sc, EMPTCP_MP_CAPABLE)) {
		a = sc->first[EMPTCP_MP_CAPABLE];
		e = emptcp_ev_mptcp_new(ctx, p, EMPTCP_EV_MP_CAPABLE, emptcp_opt_byte(o, a.off + 2));
		if (e) {
			if (a.len >= 12) {
				e->has_local_key = 1;
				emptcp_opt_copy8(o, a.off + 4, &e->local_key);
			}
			if (a.len >= 20) {
				e->has_remote_key = 1;
				emptcp_opt_copy8(o, a.off + 12, &e->remote_key);
			}
			bpf_ringbuf_submit(e, 0);
		}
	}
	if (emptcp_mptcp_has(sc, EMPTCP_MP_JOIN) && (p->tcp_flags & EMPTCP_TCP_SYN) &&
	    !(p->tcp_flags & EMPTCP_TCP_ACK)) {
		a = sc->first[EMPTCP_MP_JOIN];
		if (a.len >= 12) {
			e = emptcp_ev_mptcp_new(ctx, p, EMPTCP_EV_MP_JOIN, emptcp_opt_byte(o, a.off + 2));
			if (e) {
				__u8 *t = (__u8 *)&e->token;
				int i;

				for (i = 0; i < 4; i++)
					t[i] = emptcp_opt_byte(o, a.off + 4 + i);
				bpf_ringbuf_submit(e, 0);
			}
		}
	}
	if (emptcp_mptcp_has(sc, EMPTCP_MP_PRIO)) {
		a = sc->first[EMPTCP_MP_PRIO];
		e = emptcp_ev_mptcp_new(ctx, p, EMPTCP_EV_MP_PRIO, emptcp_opt_byte(o, a.off + 2));
		if (e)
			bpf_ringbuf_submit(e, 0);
	}
}

static __always_inline int emptcp_catch_mptcp_events_body(emptcp_ctx *ctx, struct emptcp_scratch *s,
						 const void *param)
{
	struct emptcp_ev_mptcp *e;
	struct emptcp_pkt *p;
	int n;

	p = &s->pkt;
	n = emptcp_opts_load(ctx, p, &s->opts);
	if (n < 0)
		emptcp_count(EMPTCP_CNT_MALFORMED);
	else if (n > 0) {
		s->opts.len = n;
		if (emptcp_mptcp_scan(&s->opts, &s->scan) < 0)
			emptcp_count(EMPTCP_CNT_BAD_OPTIONS);
		else if (s->scan.count)
			emptcp_report_options(ctx, p, &s->opts, &s->scan);
	}
	if (p->tcp_flags & EMPTCP_TCP_FIN) {
		e = emptcp_ev_mptcp_new(ctx, p, EMPTCP_EV_FIN, 0);
		if (e)
			bpf_ringbuf_submit(e, 0);
	}
	if (p->tcp_flags & EMPTCP_TCP_RST) {
		e = emptcp_ev_mptcp_new(ctx, p, EMPTCP_EV_RST, 0);
		if (e)
			bpf_ringbuf_submit(e, 0);
	}
	return EMPTCP_ACT_NEXT;
}

#endif /* EMPTCP_LIB_CATCH_MPTCP_EVENTS_H */
