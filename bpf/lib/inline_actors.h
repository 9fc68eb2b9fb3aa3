/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The built-in actors the entry program runs in line (chain.h, EMPTCP_INLINE_ACTORS). Each is a
 * global function: the verifier checks its body once, on its own, however many places of a chain
 * may call it, and a call costs a BPF-to-BPF call where a tail call would cost a program switch
 * and a fresh scratch lookup. The parameter block comes straight from the chain's map value.
 *
 * record and recover_add_addr are not run in line: they keep private maps per loaded object
 * (flow state with a timer, a setting fixed at load time) that must stay the ones of their own
 * program. Nor is catch_mptcp_events (tc): its body costs the verifier about as much as
 * set_flow_prio or rm_add_addr (~150k instructions each), and the entry with all four would pass
 * the 400k budget of docs/architecture.md "Verifier budget"; an event is a ring-buffer record,
 * whose cost dwarfs a tail call. These are tail-called, as operator modules are.
 */
#ifndef EMPTCP_LIB_INLINE_ACTORS_H
#define EMPTCP_LIB_INLINE_ACTORS_H

#include "set_recv_win.h"
#include "set_flow_prio.h"
#include "rm_add_addr.h"

/* Defines emptcp_inline_<name>(ctx, param), the in-line form of actor body emptcp_<name>_body. */
#define EMPTCP_INLINE_ACTOR(name)                                                            \
	__attribute__((noinline)) int emptcp_inline_##name(emptcp_ctx *ctx, __u64 param)     \
	{                                                                                    \
		struct emptcp_scratch *s = emptcp_scratch();                                 \
                                                                                             \
		if (!s)                                                                      \
			return EMPTCP_PASS;                                                  \
		return emptcp_##name##_body(ctx, s, &param);                                 \
	}

EMPTCP_INLINE_ACTOR(set_recv_win)
EMPTCP_INLINE_ACTOR(set_flow_prio)
EMPTCP_INLINE_ACTOR(rm_add_addr)

static __always_inline int emptcp_inline_actor(emptcp_ctx *ctx, __u32 slot, __u64 param)
{
	switch (slot) {
	case EMPTCP_ACT_SET_RECV_WIN:
		return emptcp_inline_set_recv_win(ctx, param);
	case EMPTCP_ACT_SET_FLOW_PRIO:
		return emptcp_inline_set_flow_prio(ctx, param);
	case EMPTCP_ACT_RM_ADD_ADDR:
		return emptcp_inline_rm_add_addr(ctx, param);
	default:
		return EMPTCP_ACT_NOT_INLINE;
	}
}

#endif /* EMPTCP_LIB_INLINE_ACTORS_H */
