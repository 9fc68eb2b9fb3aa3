/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring-buffer event records (layouts in abi.h): reserve, fill the common header, submit.
 *
 *	struct emptcp_ev_add_addr *e = emptcp_event_reserve(sizeof(*e));
 *	if (!e) ...                          // counted as EMPTCP_CNT_RINGBUF_FULL
 *	emptcp_event_hdr_fill(&e->hdr, ctx, &s->pkt, EMPTCP_EV_RM_ADD_ADDR, sizeof(*e));
 *	...
 *	bpf_ringbuf_submit(e, 0);
 */
#ifndef EMPTCP_EVENT_H
#define EMPTCP_EVENT_H

/* Reserves `size` bytes in emptcp_events; NULL (and counted) when the ring is full. */
static __always_inline void *emptcp_event_reserve(__u32 size)
{
	void *e = bpf_ringbuf_reserve(&emptcp_events, size, 0);

	if (!e)
		emptcp_count(EMPTCP_CNT_RINGBUF_FULL);
	return e;
}

/* Fills the common header; the flow is written as on the wire (source, destination). */
static __always_inline void emptcp_event_hdr_fill(struct emptcp_event_hdr *h, emptcp_ctx *ctx,
						  const struct emptcp_pkt *p, __u16 type,
						  __u16 len)
{
	const struct emptcp_tcp4_key *k = &p->key;

	h->version = EMPTCP_EVENT_VERSION;
	h->type = type;
	h->len = len;
	h->hook = EMPTCP_THIS_HOOK;
	h->pad = 0;
	h->ifindex = emptcp_ifindex(ctx);
	h->pad2 = 0;
	h->ts_ns = bpf_ktime_get_ns();
	h->flow.family = k->family;
	h->flow.pad = 0;
	h->flow.pad2[0] = 0;
	h->flow.pad2[1] = 0;
#ifdef EMPTCP_HOOK_IS_XDP
	h->flow.sport = k->remote_port;
	h->flow.dport = k->local_port;
	__builtin_memcpy(h->flow.saddr, k->remote, 16);
	__builtin_memcpy(h->flow.daddr, k->local, 16);
#else
	h->flow.sport = k->local_port;
	h->flow.dport = k->remote_port;
	__builtin_memcpy(h->flow.saddr, k->local, 16);
	__builtin_memcpy(h->flow.daddr, k->remote, 16);
#endif
}

#endif /* EMPTCP_EVENT_H */
