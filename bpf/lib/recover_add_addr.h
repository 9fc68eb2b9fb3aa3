/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor recover_add_addr (xdp): reports the latest ACK state of a flow as an
 * EMPTCP_EV_RECOVER_ADD_ADDR record (struct emptcp_ev_ack_state, abi.h), from which user space
 * crafts a segment that re-delivers a removed ADD_ADDR (design §3): the flow as on the wire,
 * seq, ack and window as on the wire (network order), TSval/TSecr in host order when the
 * segment has timestamps, and the MPTCP data ACK of its DSS option in host order (32-bit data
 * ACKs zero-extended) when it has one.
 *
 * Rate limit, per flow: a record is written for an ACK segment whose (seq, ack, window, data
 * ACK) differs from the flow's last record, and at most one per `emptcp_recover_gap_ns`
 * (default 1 ms; a const volatile, settable before load). So an idle flow's latest state is
 * always reported at once, and a busy flow costs at most 1000 records a second. The price: the
 * last change of a burst that comes within the gap after a record is reported only with the
 * flow's next segment. FIN or RST forgets the flow (no record). Segments without ACK (SYN) are
 * not reported. A full ring is counted (EMPTCP_CNT_RINGBUF_FULL); the packet is never changed.
 */
#ifndef EMPTCP_LIB_RECOVER_ADD_ADDR_H
#define EMPTCP_LIB_RECOVER_ADD_ADDR_H

#include <emptcp/tcp_state.h>
#include <emptcp/event.h>

#define EMPTCP_RECOVER_FLOWS_MAX 16384

const volatile __u64 emptcp_recover_gap_ns = 1000000;

/* What was last reported for a flow (private to this actor). */
struct emptcp_recover_last {
	__u64 ts_ns;
	__u64 data_ack;
	__be32 seq;
	__be32 ack;
	__be16 window;
	__u8 has_data_ack;
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EMPTCP_RECOVER_FLOWS_MAX);
	__type(key, struct emptcp_flow);
	__type(value, struct emptcp_recover_last);
} recover_last SEC(".maps");

static __always_inline int emptcp_recover_add_addr(emptcp_ctx *ctx)
{
	struct emptcp_scratch *s = emptcp_scratch();
	struct emptcp_recover_last cur = {}, *last;
	struct emptcp_ev_ack_state *e;
	struct emptcp_ts ts = {};
	struct emptcp_flow f;
	struct tcphdr *th;
	__u8 has_ts = 0;
	int n;

	if (!s)
		return EMPTCP_PASS;
	__builtin_memset(&f, 0, sizeof(f));
	f.family = s->pkt.key.family;
	f.sport = s->pkt.key.remote_port;
	f.dport = s->pkt.key.local_port;
	__builtin_memcpy(f.saddr, s->pkt.key.remote, 16);
	__builtin_memcpy(f.daddr, s->pkt.key.local, 16);
	if (s->pkt.tcp_flags & (EMPTCP_TCP_FIN | EMPTCP_TCP_RST)) {
		bpf_map_delete_elem(&recover_last, &f);
		return emptcp_act_next(ctx, s);
	}
	if (!(s->pkt.tcp_flags & EMPTCP_TCP_ACK) || (s->pkt.tcp_flags & EMPTCP_TCP_SYN))
		return emptcp_act_next(ctx, s);
	th = emptcp_tcp(ctx, &s->pkt);
	if (!th) {
		emptcp_count(EMPTCP_CNT_MALFORMED);
		return emptcp_act_next(ctx, s);
	}
	cur.seq = th->seq;
	cur.ack = th->ack_seq;
	cur.window = th->window;
	n = emptcp_opts_load(ctx, &s->pkt, &s->opts);
	if (n < 0) {
		emptcp_count(EMPTCP_CNT_MALFORMED);
		return emptcp_act_next(ctx, s);
	}
	if (n > 0) {
		s->opts.len = n;
		if (emptcp_mptcp_scan(&s->opts, &s->scan) < 0) {
			emptcp_count(EMPTCP_CNT_BAD_OPTIONS);
			return emptcp_act_next(ctx, s);
		}
		has_ts = emptcp_opt_ts(&s->opts, &ts) == 0;
		cur.has_data_ack = emptcp_dss_data_ack(&s->opts, &s->scan, &cur.data_ack) == 0;
	}
	cur.ts_ns = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&recover_last, &f);
	if (last) {
		if (last->seq == cur.seq && last->ack == cur.ack && last->window == cur.window &&
		    last->has_data_ack == cur.has_data_ack && last->data_ack == cur.data_ack)
			return emptcp_act_next(ctx, s); /* unchanged */
		if (cur.ts_ns - last->ts_ns < emptcp_recover_gap_ns)
			return emptcp_act_next(ctx, s); /* rate limit */
	}
	e = emptcp_event_reserve(sizeof(*e));
	if (!e)
		return emptcp_act_next(ctx, s); /* not stored as reported: retried next segment */
	emptcp_event_hdr_fill(&e->hdr, ctx, &s->pkt, EMPTCP_EV_RECOVER_ADD_ADDR, sizeof(*e));
	e->seq = cur.seq;
	e->ack = cur.ack;
	e->window = cur.window;
	e->has_ts = has_ts;
	e->has_data_ack = cur.has_data_ack;
	e->tsval = ts.val;
	e->tsecr = ts.ecr;
	e->data_ack = cur.data_ack;
	bpf_ringbuf_submit(e, 0);
	bpf_map_update_elem(&recover_last, &f, &cur, BPF_ANY);
	return emptcp_act_next(ctx, s);
}

#endif /* EMPTCP_LIB_RECOVER_ADD_ADDR_H */
