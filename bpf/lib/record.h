/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor record [pkt, flow, rtt] (xdp): per-flow metrics in `emptcp_x_stats` (PERCPU_HASH, key
 * struct emptcp_flow as on the wire, i.e. source = the remote peer; value struct
 * emptcp_flow_stats per CPU; user space sums the CPUs). Parameter flags (abi.h
 * EMPTCP_RECORD_*; the policy's pkt/flow/rtt, all true by default):
 *
 *   PKT   packets += 1 per frame XDP sees (generic XDP on veth sees a GSO/GRO super-packet as
 *         one frame; a capture on the same interface sees the same frames).
 *   FLOW  bytes += the IP packet length: IPv4 total length, IPv6 40 + payload length (headers
 *         included, link layer and Ethernet padding excluded; tshark: ip.len, ipv6.plen + 40).
 *   RTT   one sample per new TSecr value (the first segment of the flow that echoes a TSval of
 *         ours not echoed before). Ingress alone never sees when our TSval left, but Linux
 *         stamps it from the clock bpf_ktime_get_ns() reads: TSval = send time in ms +
 *         the connection's tsoffset. The offset is read from the local socket (socket lookup +
 *         bpf_skc_to_tcp_sock, CO-RE), so sample = now - start of the millisecond in which the
 *         echoed TSval was stamped. That is the RFC 7323 RTT measurement, as an upper bound with
 *         the resolution of the TS clock (< 1 ms too high) and including the peer's ACK delay.
 *         No sample without a local socket (forwarded traffic), with microsecond TS clocks
 *         (tcp_usec_ts routes: samples over 60 s are discarded), or without timestamps.
 *
 * Bounded: EMPTCP_FLOW_STATS_MAX flows; a new flow that does not fit is counted
 * (EMPTCP_CNT_RECORD_FULL) and not recorded. FIN or RST deletes the flow's entry, and a
 * tombstone in the private `record_state` LRU map keeps the segments that trail a FIN (the
 * last ACK, retransmitted FINs) from creating it again; a SYN lifts the tombstone.
 * The packet is never changed.
 */
#ifndef EMPTCP_LIB_RECORD_H
#define EMPTCP_LIB_RECORD_H

#include <bpf/bpf_core_read.h>
#include <emptcp/tcp_state.h>

#define EMPTCP_FLOW_STATS_MAX 16384
#define EMPTCP_RTT_MAX_US (60ull * 1000 * 1000)

/* emptcp_x_stats: the metrics user space reads (`emptcp stats`). */
#define record_stats EMPTCP_MAP(stats)
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, EMPTCP_FLOW_STATS_MAX);
	__type(key, struct emptcp_flow);
	__type(value, struct emptcp_flow_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} record_stats SEC(".maps");

/* Per-flow state of this actor only (not part of the ABI). */
struct emptcp_record_state {
	__u32 last_ecr; /* the TSecr of the latest RTT sample */
	__u8 closed;    /* FIN/RST seen: do not recreate the stats entry before a SYN */
	__u8 pad[3];
};

#define record_state EMPTCP_MAP(recst)
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EMPTCP_FLOW_STATS_MAX);
	__type(key, struct emptcp_flow);
	__type(value, struct emptcp_record_state);
} record_state SEC(".maps");

/* The kernel's struct tcp_sock, only the field read here (CO-RE relocated at load). */
struct tcp_sock___emptcp {
	__u32 tsoffset;
} __attribute__((preserve_access_index));

/* The flow key of the in-flight packet as on the wire (source = the peer on XDP). */
static __always_inline void emptcp_flow_of(const struct emptcp_pkt *p, struct emptcp_flow *f)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->family = p->key.family;
	f->sport = p->key.remote_port;
	f->dport = p->key.local_port;
	__builtin_memcpy(f->saddr, p->key.remote, 16);
	__builtin_memcpy(f->daddr, p->key.local, 16);
}

/* The tsoffset of the local socket the segment is for, or -EMPTCP_E_NOT_FOUND. */
static __always_inline long emptcp_local_tsoffset(emptcp_ctx *ctx, const struct emptcp_flow *f)
{
	struct bpf_sock_tuple t = {};
	struct tcp_sock___emptcp *tp;
	struct bpf_sock *sk;
	__u32 size;
	long off = -EMPTCP_E_NOT_FOUND;

	if (f->family == EMPTCP_AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, f->saddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, f->daddr, 4);
		t.ipv4.sport = f->sport;
		t.ipv4.dport = f->dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, f->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, f->daddr, 16);
		t.ipv6.sport = f->sport;
		t.ipv6.dport = f->dport;
		size = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return off;
	tp = (struct tcp_sock___emptcp *)bpf_skc_to_tcp_sock(sk);
	if (tp)
		off = tp->tsoffset;
	bpf_sk_release(sk);
	return off;
}

/* One RTT sample for echo `ecr`, in microseconds, or < 0. */
static __always_inline long emptcp_rtt_sample(emptcp_ctx *ctx, const struct emptcp_flow *f,
					      __u32 ecr, __u64 now_ns)
{
	long off = emptcp_local_tsoffset(ctx, f);
	__u32 sent_ms, now_ms;
	__u64 us;

	if (off < 0)
		return off;
	sent_ms = ecr - (__u32)off;
	now_ms = (__u32)(now_ns / 1000000);
	us = (__u64)(__u32)(now_ms - sent_ms) * 1000 + (now_ns % 1000000) / 1000;
	if (us > EMPTCP_RTT_MAX_US)
		return -EMPTCP_E_NOT_FOUND;
	return us;
}

static __always_inline void emptcp_record_rtt(emptcp_ctx *ctx, struct emptcp_scratch *s,
					      const struct emptcp_flow *f,
					      struct emptcp_record_state *st,
					      struct emptcp_flow_stats *v, __u64 now)
{
	struct emptcp_ts ts;
	long us;
	int n;

	if (!(s->pkt.tcp_flags & EMPTCP_TCP_ACK))
		return;
	n = emptcp_opts_load(ctx, &s->pkt, &s->opts);
	if (n <= 0)
		return;
	s->opts.len = n;
	if (emptcp_opt_ts(&s->opts, &ts) < 0 || !ts.ecr || ts.ecr == st->last_ecr)
		return;
	st->last_ecr = ts.ecr;
	us = emptcp_rtt_sample(ctx, f, ts.ecr, now);
	if (us < 0)
		return;
	v->rtt_samples++;
	v->rtt_sum_us += us;
	v->rtt_last_us = us;
	if (!v->rtt_min_us || us < v->rtt_min_us)
		v->rtt_min_us = us;
}

/* IP packet length of the in-flight packet (see FLOW above), 0 if unreadable. */
static __always_inline __u32 emptcp_ip_len(emptcp_ctx *ctx, const struct emptcp_pkt *p)
{
	__u8 b[2];

	if (emptcp_load_bytes(ctx, p->l3_off + (p->family == EMPTCP_AF_INET ? 2 : 4), b, 2))
		return 0;
	return (((__u32)b[0] << 8) | b[1]) + (p->family == EMPTCP_AF_INET ? 0 : 40);
}

static __always_inline int emptcp_record_body(emptcp_ctx *ctx, struct emptcp_scratch *s,
						 const void *param)
{
	struct emptcp_record_state *st, st0 = {};
	struct emptcp_flow_stats *v, zero = {};
	struct emptcp_flow f;
	__u8 flags, tcpf;
	__u64 now;

	flags = ((const struct emptcp_param_record *)param)->flags;
	tcpf = s->pkt.tcp_flags;
	emptcp_flow_of(&s->pkt, &f);
	if (tcpf & (EMPTCP_TCP_FIN | EMPTCP_TCP_RST)) {
		bpf_map_delete_elem(&record_stats, &f);
		st0.closed = 1;
		bpf_map_update_elem(&record_state, &f, &st0, BPF_ANY);
		return EMPTCP_ACT_NEXT;
	}
	st = NULL;
	v = bpf_map_lookup_elem(&record_stats, &f);
	if (!v) {
		long err;

		st = bpf_map_lookup_elem(&record_state, &f);
		if (st && st->closed) {
			if (!(tcpf & EMPTCP_TCP_SYN))
				return EMPTCP_ACT_NEXT; /* trails a FIN/RST */
			st->closed = 0;
			st->last_ecr = 0;
		}
		err = bpf_map_update_elem(&record_stats, &f, &zero, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another CPU created it */) {
			emptcp_count(EMPTCP_CNT_RECORD_FULL);
			return EMPTCP_ACT_NEXT;
		}
		v = bpf_map_lookup_elem(&record_stats, &f);
		if (!v)
			return EMPTCP_ACT_NEXT;
	}
	now = bpf_ktime_get_ns();
	v->last_ts_ns = now;
	if (flags & EMPTCP_RECORD_PKT)
		v->packets++;
	if (flags & EMPTCP_RECORD_FLOW)
		v->bytes += emptcp_ip_len(ctx, &s->pkt);
	if (flags & EMPTCP_RECORD_RTT) {
		if (!st)
			st = bpf_map_lookup_elem(&record_state, &f);
		if (!st) {
			bpf_map_update_elem(&record_state, &f, &st0, BPF_NOEXIST);
			st = bpf_map_lookup_elem(&record_state, &f);
		}
		if (st)
			emptcp_record_rtt(ctx, s, &f, st, v, now);
	}
	return EMPTCP_ACT_NEXT;
}

#endif /* EMPTCP_LIB_RECORD_H */
