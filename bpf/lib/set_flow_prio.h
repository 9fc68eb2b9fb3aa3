/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor set_flow_prio [backup, addr_id?]: inserts an MP_PRIO option (RFC 8684 §3.3.8) into ACK
 * segments without SYN or RST. The option goes first in the option block, padded to 4 bytes:
 *
 *	3-byte form (RFC 8684, the only one Linux honours):  30 3 0x5B NOP      (B = backup bit)
 *	4-byte form (has_addr_id, MPTCP v0 / RFC 6824):      30 4 0x5B addr_id
 *
 * The TCP header grows by 4: IPv4 total length and header checksum (or IPv6 payload length),
 * TCP data offset and the TCP checksum are fixed incrementally. The moved bytes keep their
 * 16-bit alignment, so only the data-offset word, the 4 new bytes and the pseudo-header length
 * change the TCP sum.
 *
 *   XDP: bpf_xdp_adjust_head(-4), then the headers up to the end of the fixed TCP header
 *        (at most 275 bytes) are rewritten 4 bytes earlier from a per-CPU copy. Any segment.
 *   TC:  bpf_skb_change_tail(+4), then the options (at most 36 bytes) move 4 bytes later. The
 *        TCP header stays where the stack put it, so csum_start/transport header stay right
 *        and CHECKSUM_PARTIAL packets keep working (skb checksum helpers; the length goes in
 *        as a pseudo-header change). Only segments without payload (pure ACKs) are grown:
 *        moving a payload is unbounded and a GSO segment would outgrow its MSS.
 *
 * Skipped, counted, packet unchanged: an MP_PRIO already present (EMPTCP_CNT_PRIO_PRESENT); no
 * room, i.e. options + 4 > 40 bytes, or on TC a segment with payload (EMPTCP_CNT_PRIO_NO_ROOM);
 * malformed options (EMPTCP_CNT_BAD_OPTIONS). Inserted: EMPTCP_CNT_PRIO_ADDED. A helper failing
 * after the packet grew (memory pressure only) leaves it inconsistent: dropped, MALFORMED.
 */
#ifndef EMPTCP_LIB_SET_FLOW_PRIO_H
#define EMPTCP_LIB_SET_FLOW_PRIO_H

#include <emptcp/tcp_state.h>

#define EMPTCP_PRIO_GROW 4
/* A helper failed after the packet had grown: it is inconsistent, so it is dropped (counted as
 * MALFORMED). The kernel helpers involved fail only on memory pressure. */
#define EMPTCP_PRIO_BROKEN 1000

/* The 4 bytes inserted, as they go on the wire. */
static __always_inline void emptcp_prio_bytes(const struct emptcp_param_flow_prio *prm,
					      __u8 out[EMPTCP_PRIO_GROW])
{
	out[0] = EMPTCP_TCPOPT_MPTCP;
	out[1] = prm->has_addr_id ? 4 : 3;
	out[2] = (EMPTCP_MP_PRIO << 4) | (prm->backup ? 1 : 0);
	out[3] = prm->has_addr_id ? prm->addr_id : EMPTCP_TCPOPT_NOP;
}

/* Lengths and checksum words of the headers before and after the growth (raw memory order). */
struct emptcp_prio_edit {
	__u32 ip_end;      /* packet offset of the end of the IP packet (before growth) */
	__u16 len_off;     /* packet offset of IPv4 total length / IPv6 payload length */
	__u16 len_from;    /* that field, raw, before and after */
	__u16 len_to;
	__u16 tlen_from;   /* TCP length (pseudo header), raw, before and after */
	__u16 tlen_to;
	__u16 doff_from;   /* TCP bytes 12-13 (data offset, flags), raw, before and after */
	__u16 doff_to;
	__u8 opt[EMPTCP_PRIO_GROW];
};

static __always_inline __u16 emptcp_raw16(const __u8 *b)
{
	__u16 v;

	__builtin_memcpy(&v, b, 2);
	return v;
}

/* Reads the IP length and TCP data-offset fields and prepares the edit. Returns 0 or < 0. */
static __always_inline int emptcp_prio_plan(emptcp_ctx *ctx, const struct emptcp_pkt *p,
					    const struct emptcp_param_flow_prio *prm,
					    struct emptcp_prio_edit *e)
{
	__u8 b[2], d[2];
	__u32 iplen;

	if (p->family == EMPTCP_AF_INET) {
		e->len_off = p->l3_off + 2;
		if (emptcp_load_bytes(ctx, e->len_off, b, 2))
			return -EMPTCP_E_TRUNCATED;
		iplen = ((__u32)b[0] << 8) | b[1];
	} else {
		e->len_off = p->l3_off + 4;
		if (emptcp_load_bytes(ctx, e->len_off, b, 2))
			return -EMPTCP_E_TRUNCATED;
		iplen = (((__u32)b[0] << 8) | b[1]) + 40;
	}
	e->ip_end = p->l3_off + iplen;
	if (e->ip_end < (__u32)p->l4_off + p->tcp_hlen)
		return -EMPTCP_E_TRUNCATED;
	if (iplen + EMPTCP_PRIO_GROW > 0xffff)
		return -EMPTCP_E_NO_ROOM;
	e->len_from = emptcp_raw16(b);
	e->len_to = bpf_htons((__u16)(bpf_ntohs(e->len_from) + EMPTCP_PRIO_GROW));
	e->tlen_from = bpf_htons((__u16)(e->ip_end - p->l4_off));
	e->tlen_to = bpf_htons((__u16)(e->ip_end - p->l4_off + EMPTCP_PRIO_GROW));
	if (emptcp_load_bytes(ctx, p->l4_off + 12, d, 2))
		return -EMPTCP_E_TRUNCATED;
	e->doff_from = emptcp_raw16(d);
	d[0] += EMPTCP_PRIO_GROW << 2; /* data offset is the high nibble, in 32-bit words */
	e->doff_to = emptcp_raw16(d);
	emptcp_prio_bytes(prm, e->opt);
	return 0;
}

/* TCP checksum difference of everything but the pseudo-header length. */
static __always_inline __u32 emptcp_prio_data_diff(const struct emptcp_prio_edit *e)
{
	__u32 d = emptcp_csum_diff16(e->doff_from, e->doff_to);

	d = emptcp_csum_add(d, emptcp_raw16(&e->opt[0]));
	return emptcp_csum_add(d, emptcp_raw16(&e->opt[2]));
}

#ifdef EMPTCP_HOOK_IS_XDP
/* Headers rewritten in one store: up to the end of the fixed TCP header, plus the option. */
#define EMPTCP_PRIO_BUF 512
#define EMPTCP_PRIO_MASK (EMPTCP_PRIO_BUF - 1)

struct emptcp_prio_buf {
	__u8 b[EMPTCP_PRIO_BUF + 8]; /* indexes are masked with EMPTCP_PRIO_MASK, +2 stays inside */
};

/* Per-CPU copy of the headers being moved (private to this program, not pinned). */
#define emptcp_prio_hdr EMPTCP_MAP(priohd)
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct emptcp_prio_buf);
} emptcp_prio_hdr SEC(".maps");

static __always_inline void emptcp_buf_put16(struct emptcp_prio_buf *h, __u32 off, __u16 raw)
{
	__builtin_memcpy(&h->b[off & EMPTCP_PRIO_MASK], &raw, 2);
}

static __always_inline __u16 emptcp_buf_get16(struct emptcp_prio_buf *h, __u32 off)
{
	return emptcp_raw16(&h->b[off & EMPTCP_PRIO_MASK]);
}

static __always_inline int emptcp_prio_grow(emptcp_ctx *ctx, const struct emptcp_pkt *p,
					    const struct emptcp_prio_edit *e)
{
	__u32 zero = 0, l3 = p->l3_off & 0xff, l4 = p->l4_off & EMPTCP_L4_OFF_MAX;
	__u32 hl = l4 + sizeof(struct tcphdr), diff, i;
	struct emptcp_prio_buf *h = bpf_map_lookup_elem(&emptcp_prio_hdr, &zero);

	if (!h)
		return -EMPTCP_E_HELPER;
	if (bpf_xdp_load_bytes(ctx, 0, h->b, hl))
		return -EMPTCP_E_TRUNCATED;
	emptcp_buf_put16(h, e->len_off, e->len_to);
	if (p->family == EMPTCP_AF_INET)
		emptcp_buf_put16(h, l3 + 10,
				 emptcp_csum_apply(emptcp_buf_get16(h, l3 + 10),
						   emptcp_csum_diff16(e->len_from, e->len_to)));
	emptcp_buf_put16(h, l4 + 12, e->doff_to);
	diff = emptcp_csum_add(emptcp_prio_data_diff(e),
			       emptcp_csum_diff16(e->tlen_from, e->tlen_to));
	emptcp_buf_put16(h, l4 + 16, emptcp_csum_apply(emptcp_buf_get16(h, l4 + 16), diff));
	for (i = 0; i < EMPTCP_PRIO_GROW; i++)
		h->b[(hl + i) & EMPTCP_PRIO_MASK] = e->opt[i];
	if (bpf_xdp_adjust_head(ctx, -EMPTCP_PRIO_GROW))
		return -EMPTCP_E_NO_ROOM;
	if (bpf_xdp_store_bytes(ctx, 0, h->b, hl + EMPTCP_PRIO_GROW))
		return -EMPTCP_PRIO_BROKEN; /* cannot happen: the frame just grew by 4 */
	return 0;
}
#else
static __always_inline int emptcp_prio_grow(emptcp_ctx *ctx, const struct emptcp_pkt *p,
					    const struct emptcp_prio_edit *e, struct emptcp_opts *o)
{
	__u32 l4 = p->l4_off, n = o->len;

	if (e->ip_end != (__u32)p->l4_off + p->tcp_hlen)
		return -EMPTCP_E_NO_ROOM; /* payload: not grown on TC (see the top) */
	if (n > EMPTCP_OPT_MAX - EMPTCP_PRIO_GROW)
		return -EMPTCP_E_NO_ROOM;
	/* Trims any link-layer trailer and adds 4 bytes at the end of the IP packet. */
	if (bpf_skb_change_tail(ctx, e->ip_end + EMPTCP_PRIO_GROW, 0))
		return -EMPTCP_E_NO_ROOM;
	if (n && bpf_skb_store_bytes(ctx, l4 + 20 + EMPTCP_PRIO_GROW, o->buf, n, 0))
		return -EMPTCP_PRIO_BROKEN;
	if (bpf_skb_store_bytes(ctx, l4 + 20, e->opt, EMPTCP_PRIO_GROW, 0) ||
	    bpf_skb_store_bytes(ctx, l4 + 12, (void *)&e->doff_to, 2, 0) ||
	    bpf_skb_store_bytes(ctx, e->len_off, (void *)&e->len_to, 2, 0))
		return -EMPTCP_PRIO_BROKEN;
	if (p->family == EMPTCP_AF_INET &&
	    bpf_l3_csum_replace(ctx, p->l3_off + 10, e->len_from, e->len_to, 2))
		return -EMPTCP_PRIO_BROKEN;
	if (bpf_l4_csum_replace(ctx, emptcp_tcp_csum_off(p), 0, emptcp_prio_data_diff(e), 0) ||
	    bpf_l4_csum_replace(ctx, emptcp_tcp_csum_off(p), e->tlen_from, e->tlen_to,
				BPF_F_PSEUDO_HDR | 2))
		return -EMPTCP_PRIO_BROKEN;
	return 0;
}
#endif

static __always_inline int emptcp_set_flow_prio_body(emptcp_ctx *ctx, struct emptcp_scratch *s,
						 const void *param)
{
	struct emptcp_param_flow_prio prm;
	struct emptcp_prio_edit e;
	struct emptcp_pkt *p;
	int n, err;

	p = &s->pkt;
	__builtin_memcpy(&prm, param, sizeof(prm));
	if (!(p->tcp_flags & EMPTCP_TCP_ACK) || (p->tcp_flags & (EMPTCP_TCP_SYN | EMPTCP_TCP_RST)))
		return EMPTCP_ACT_NEXT;
	n = emptcp_opts_load(ctx, p, &s->opts);
	if (n < 0) {
		emptcp_count(EMPTCP_CNT_MALFORMED);
		return EMPTCP_ACT_NEXT;
	}
	s->opts.len = n;
	if (n > 0 && emptcp_mptcp_scan(&s->opts, &s->scan) < 0) {
		emptcp_count(EMPTCP_CNT_BAD_OPTIONS);
		return EMPTCP_ACT_NEXT;
	}
	if (n > 0 && emptcp_mptcp_has(&s->scan, EMPTCP_MP_PRIO)) {
		emptcp_count(EMPTCP_CNT_PRIO_PRESENT);
		return EMPTCP_ACT_NEXT;
	}
	if (n + EMPTCP_PRIO_GROW > EMPTCP_OPT_MAX) {
		emptcp_count(EMPTCP_CNT_PRIO_NO_ROOM);
		return EMPTCP_ACT_NEXT;
	}
	err = emptcp_prio_plan(ctx, p, &prm, &e);
	if (!err)
#ifdef EMPTCP_HOOK_IS_XDP
		err = emptcp_prio_grow(ctx, p, &e);
#else
		err = emptcp_prio_grow(ctx, p, &e, &s->opts);
#endif
	if (err == -EMPTCP_PRIO_BROKEN) {
		emptcp_count(EMPTCP_CNT_MALFORMED);
		return EMPTCP_DROP;
	}
	if (err == -EMPTCP_E_NO_ROOM)
		emptcp_count(EMPTCP_CNT_PRIO_NO_ROOM);
	else if (err)
		emptcp_count(EMPTCP_CNT_MALFORMED);
	if (err)
		return EMPTCP_ACT_NEXT;
	/* The layout after this actor: the header grew by 4, the offsets stay (TC) or stay
	 * relative to the new start (XDP), so the next actor's view only needs the new length. */
	p->tcp_hlen += EMPTCP_PRIO_GROW;
	emptcp_count(EMPTCP_CNT_PRIO_ADDED);
	return EMPTCP_ACT_NEXT;
}

#endif /* EMPTCP_LIB_SET_FLOW_PRIO_H */
