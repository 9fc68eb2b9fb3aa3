/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Actor set_recv_win [window u16]: rewrites the TCP window field, checksum kept valid (XDP:
 * incremental update; TC: bpf_l4_csum_replace, which respects CHECKSUM_PARTIAL).
 */
#ifndef EMPTCP_LIB_SET_RECV_WIN_H
#define EMPTCP_LIB_SET_RECV_WIN_H

static __always_inline int emptcp_set_recv_win_body(emptcp_ctx *ctx, struct emptcp_scratch *s,
						 const void *param)
{
	const struct emptcp_param_recv_win *prm;
	struct tcphdr *th;
	__u16 from, to;

	prm = param;
	th = emptcp_tcp(ctx, &s->pkt);
	if (!th) {
		emptcp_count(EMPTCP_CNT_MALFORMED);
		return EMPTCP_ACT_NEXT;
	}
	from = th->window;
	to = bpf_htons(prm->window);
	if (from != to) {
		th->window = to;
		if (emptcp_l4_csum_replace2(ctx, emptcp_tcp_csum_off(&s->pkt), from, to))
			emptcp_count(EMPTCP_CNT_MALFORMED);
	}
	emptcp_count(EMPTCP_CNT_WIN_SET);
	return EMPTCP_ACT_NEXT;
}

#endif /* EMPTCP_LIB_SET_RECV_WIN_H */
