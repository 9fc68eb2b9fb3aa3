/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor recover_add_addr (xdp): reports the latest ACK state of a flow as an
 * EMPTCP_EV_RECOVER_ADD_ADDR record (struct emptcp_ev_ack_state, abi.h), from which user space
 * crafts a segment that re-delivers a removed ADD_ADDR (docs/architecture.md, "An ADD_ADDR can
 * only be replayed"): the flow, seq, ack and window as on the wire (network order), TSval/TSecr
 * in host order when the segment has timestamps, and the MPTCP data ACK of its DSS option in
 * host order (32-bit data ACKs zero-extended) when it has one. The header's ts_ns is when that
 * segment was seen.
 *
 * Rate limit, per flow: only ACK segments whose (seq, ack, window, data ACK) differs from the
 * flow's last record count as a change, and at most one record per `emptcp_recover_gap_ns`
 * (default 1 ms; a const volatile, settable before load) is written. A change within the gap is
 * kept as pending and written by a per-flow bpf_timer when the gap is over (a newer change
 * replaces it; a return to the reported state cancels it). So a busy flow costs at most ~1000
 * records a second, an idle flow's state is reported at once, and the last state of a burst is
 * always reported, at most one gap late. FIN or RST forgets the flow (no record). Segments
 * without ACK (SYN) are not reported. A full ring is counted (EMPTCP_CNT_RINGBUF_FULL). The
 * packet is never changed.
 */
#ifndef EMPTCP_LIB_RECOVER_ADD_ADDR_H
#define EMPTCP_LIB_RECOVER_ADD_ADDR_H

#include <emptcp/tcp_state.h>
#include <emptcp/event.h>

#define EMPTCP_RECOVER_FLOWS_MAX 16384

const volatile __u64 emptcp_recover_gap_ns = 1000000;

/* Per-flow state of this actor (private, not pinned). */
struct emptcp_recover_flow {
	struct bpf_timer timer;             /* writes `pending` when the gap is over */
	__u64 reported_ns;                  /* when the last record was written */
	struct emptcp_ev_ack_state last;    /* the last record written */
	struct emptcp_ev_ack_state pending; /* a change not written yet (has_pending) */
	__u32 pending_gen;                  /* bumped at every write of `pending` */
	__u8 has_pending;
	__u8 pad[3];
};

/* emptcp_x_recov: per-flow state. Pinned only because the kernel arms bpf_timers only in maps
 * that user space holds or that are pinned; kernel-internal, user space never reads it. */
#define recover_state EMPTCP_MAP(recov)
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EMPTCP_RECOVER_FLOWS_MAX);
	__type(key, struct emptcp_flow);
	__type(value, struct emptcp_recover_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} recover_state SEC(".maps");

/* Work space (per CPU, private): the record being built, and an all-zero flow state to insert. */
struct emptcp_recover_work {
	struct emptcp_ev_ack_state cur;
	struct emptcp_recover_flow fresh; /* never written */
};

#define recover_work EMPTCP_MAP(recovw)
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct emptcp_recover_work);
} recover_work SEC(".maps");

/* Whether two records hold the same ACK state. */
static __always_inline int emptcp_ack_same(const struct emptcp_ev_ack_state *a,
					   const struct emptcp_ev_ack_state *b)
{
	return a->seq == b->seq && a->ack == b->ack && a->window == b->window &&
	       a->has_data_ack == b->has_data_ack && a->data_ack == b->data_ack;
}

/* Writes `r` to the ring. Returns 0, or < 0 when the ring is full (counted). */
static __always_inline int emptcp_ack_emit(const struct emptcp_ev_ack_state *r)
{
	struct emptcp_ev_ack_state *e = emptcp_event_reserve(sizeof(*e));

	if (!e)
		return -EMPTCP_E_NO_ROOM;
	__builtin_memcpy(e, r, sizeof(*e));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Timer callback: the gap is over, write the pending change. A segment on another CPU may
 * replace `pending` meanwhile (it bumps pending_gen, and arms the timer only when nothing was
 * pending): then the timer re-arms itself for the newer state. */
static int emptcp_recover_timer_cb(void *map, struct emptcp_flow *key,
				   struct emptcp_recover_flow *v)
{
	__u32 gen = v->pending_gen;

	if (!v->has_pending)
		return 0;
	if (emptcp_ack_emit(&v->pending) == 0) {
		__builtin_memcpy(&v->last, &v->pending, sizeof(v->last));
		v->reported_ns = bpf_ktime_get_ns();
	}
	if (v->pending_gen == gen)
		v->has_pending = 0;
	else
		bpf_timer_start(&v->timer, emptcp_recover_gap_ns, 0);
	return 0;
}

/* Fills `r` with the in-flight segment's ACK state. Returns 0 or a negative error. */
static __always_inline int emptcp_ack_state_of(emptcp_ctx *ctx, struct emptcp_scratch *s,
					       struct emptcp_ev_ack_state *r)
{
	struct emptcp_ts ts = {};
	struct tcphdr *th;
	int n;

	__builtin_memset(r, 0, sizeof(*r));
	th = emptcp_tcp(ctx, &s->pkt);
	if (!th)
		return -EMPTCP_E_TRUNCATED;
	r->seq = th->seq;
	r->ack = th->ack_seq;
	r->window = th->window;
	n = emptcp_opts_load(ctx, &s->pkt, &s->opts);
	if (n < 0)
		return n;
	if (n > 0) {
		s->opts.len = n;
		if (emptcp_mptcp_scan(&s->opts, &s->scan) < 0)
			return -EMPTCP_E_BAD_OPT;
		r->has_ts = emptcp_opt_ts(&s->opts, &ts) == 0;
		r->has_data_ack = emptcp_dss_data_ack(&s->opts, &s->scan, &r->data_ack) == 0;
		r->tsval = ts.val;
		r->tsecr = ts.ecr;
	}
	emptcp_event_hdr_fill(&r->hdr, ctx, &s->pkt, EMPTCP_EV_RECOVER_ADD_ADDR, sizeof(*r));
	return 0;
}

/* A flow seen for the first time: reported at once, its state created. */
static __always_inline void emptcp_recover_new(const struct emptcp_flow *f,
					       struct emptcp_recover_work *w)
{
	struct emptcp_ev_ack_state *cur = &w->cur;
	struct emptcp_recover_flow *v;

	if (emptcp_ack_emit(cur) < 0)
		return; /* not stored as reported: retried with the next segment */
	if (bpf_map_update_elem(&recover_state, f, &w->fresh, BPF_NOEXIST))
		return;
	v = bpf_map_lookup_elem(&recover_state, f);
	if (!v)
		return;
	__builtin_memcpy(&v->last, cur, sizeof(v->last));
	v->reported_ns = cur->hdr.ts_ns;
	if (bpf_timer_init(&v->timer, &recover_state, 1 /* CLOCK_MONOTONIC */) == 0)
		bpf_timer_set_callback(&v->timer, emptcp_recover_timer_cb);
}

static __always_inline int emptcp_recover_add_addr_body(emptcp_ctx *ctx, struct emptcp_scratch *s,
						 const void *param)
{
	struct emptcp_recover_work *w;
	struct emptcp_recover_flow *v;
	struct emptcp_ev_ack_state *cur;
	struct emptcp_flow f;
	__u32 zero = 0;
	__u64 since;
	int err;

	w = bpf_map_lookup_elem(&recover_work, &zero);
	if (!w)
		return EMPTCP_ACT_NEXT;
	__builtin_memset(&f, 0, sizeof(f));
	f.family = s->pkt.key.family;
	f.sport = s->pkt.key.remote_port;
	f.dport = s->pkt.key.local_port;
	__builtin_memcpy(f.saddr, s->pkt.key.remote, 16);
	__builtin_memcpy(f.daddr, s->pkt.key.local, 16);
	if (s->pkt.tcp_flags & (EMPTCP_TCP_FIN | EMPTCP_TCP_RST)) {
		bpf_map_delete_elem(&recover_state, &f); /* cancels its timer too */
		return EMPTCP_ACT_NEXT;
	}
	if (!(s->pkt.tcp_flags & EMPTCP_TCP_ACK) || (s->pkt.tcp_flags & EMPTCP_TCP_SYN))
		return EMPTCP_ACT_NEXT;
	cur = &w->cur;
	err = emptcp_ack_state_of(ctx, s, cur);
	if (err) {
		emptcp_count(err == -EMPTCP_E_BAD_OPT ? EMPTCP_CNT_BAD_OPTIONS : EMPTCP_CNT_MALFORMED);
		return EMPTCP_ACT_NEXT;
	}
	v = bpf_map_lookup_elem(&recover_state, &f);
	if (!v) {
		emptcp_recover_new(&f, w);
		return EMPTCP_ACT_NEXT;
	}
	if (emptcp_ack_same(&v->last, cur)) {
		v->has_pending = 0; /* back to what was reported */
		return EMPTCP_ACT_NEXT;
	}
	since = cur->hdr.ts_ns - v->reported_ns;
	if (since >= emptcp_recover_gap_ns) {
		if (emptcp_ack_emit(cur) == 0) {
			__builtin_memcpy(&v->last, cur, sizeof(v->last));
			v->reported_ns = cur->hdr.ts_ns;
			v->has_pending = 0;
		}
		return EMPTCP_ACT_NEXT;
	}
	__builtin_memcpy(&v->pending, cur, sizeof(v->pending));
	v->pending_gen++;
	if (!v->has_pending) { /* armed once per gap, not per change: re-arming costs µs */
		v->has_pending = 1;
		bpf_timer_start(&v->timer, emptcp_recover_gap_ns - since, 0);
	}
	return EMPTCP_ACT_NEXT;
}

#endif /* EMPTCP_LIB_RECOVER_ADD_ADDR_H */
