/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The built-in actors the entry program runs in line (chain.h, EMPTCP_INLINE_ACTORS). The
 * heavier ones are global functions: the verifier checks such a body once, on its own, however
 * many places of a chain may call it, and a call costs a BPF-to-BPF call where a tail call would
 * cost a program switch and a fresh scratch lookup. A BPF-to-BPF call still costs about 14 ns on a
 * kernel with return thunks, so what every matching packet runs (set_recv_win, the ADD_ADDR
 * pre-check of rm_add_addr) is inlined into the chain loop instead. The parameter block comes
 * straight from the chain's map value.
 *
 * record and recover_add_addr are not run in line: they keep private maps per loaded object
 * (flow state with a timer, a setting fixed at load time) that must stay the ones of their own
 * program. Nor is catch_mptcp_events (tc): an event is a ring-buffer record, whose cost dwarfs a
 * tail call. These are tail-called, as operator modules are.
 */
#ifndef EMPTCP_LIB_INLINE_ACTORS_H
#define EMPTCP_LIB_INLINE_ACTORS_H

#include "set_recv_win.h"
#include "set_flow_prio.h"
#include "rm_add_addr.h"

/* Defines emptcp_inline_<name>(ctx, param), a global function running `body`(ctx, s, &param). */
#define EMPTCP_INLINE_ACTOR(name, body)                                                      \
	__attribute__((noinline)) int emptcp_inline_##name(emptcp_ctx *ctx, __u64 param)     \
	{                                                                                    \
		struct emptcp_scratch *s = emptcp_scratch();                                 \
                                                                                             \
		if (!s)                                                                      \
			return EMPTCP_PASS;                                                  \
		return body(ctx, s, &param);                                                 \
	}

/* rm_add_addr past its in-line pre-check (the parameter block is empty). */
static __always_inline int emptcp_rm_add_addr_act_param(emptcp_ctx *ctx, struct emptcp_scratch *s,
							const void *param)
{
	return emptcp_rm_add_addr_act(ctx, s);
}

EMPTCP_INLINE_ACTOR(set_flow_prio, emptcp_set_flow_prio_body)
EMPTCP_INLINE_ACTOR(rm_add_addr, emptcp_rm_add_addr_act_param)

/* set_recv_win is a few loads and stores: run straight in the chain loop, no call. rm_add_addr
 * runs its pre-check (a word test of the options, read straight from the packet) there too and
 * calls its global function only for a segment that may carry an ADD_ADDR; the usual segment
 * costs no call. */
static __always_inline int emptcp_inline_actor(emptcp_ctx *ctx, struct emptcp_scratch *s,
					       __u32 slot, __u64 param)
{
	switch (slot) {
	case EMPTCP_ACT_SET_RECV_WIN:
		return emptcp_set_recv_win_body(ctx, s, &param);
	case EMPTCP_ACT_SET_FLOW_PRIO:
		return emptcp_inline_set_flow_prio(ctx, param);
	case EMPTCP_ACT_RM_ADD_ADDR:
		if (!emptcp_rm_add_addr_wanted(ctx, s))
			return EMPTCP_ACT_NEXT;
		return emptcp_inline_rm_add_addr(ctx, param);
	default:
		return EMPTCP_ACT_NOT_INLINE;
	}
}

#endif /* EMPTCP_LIB_INLINE_ACTORS_H */
