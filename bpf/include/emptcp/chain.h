/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Chain engine: the selector walk (or/and semantics, docs/sdk.md) and the actor chain.
 *
 * Selector chain: steps run in order. `or`: a match takes that selector's action chain at once
 * (first match wins); a miss goes on. `and`: a miss ends the walk (not a target); a match
 * remembers its chain and goes on. At the end of the steps the last matched `and` chain is taken,
 * else the packet is not a target and passes unchanged.
 *
 * The built-in selectors (tcp, tcp2, tcp4) are plain map lookups and are evaluated inline; any
 * other slot is tail-called in emptcp_<h>_sels, and that program reports back with
 * emptcp_sel_result(). A match yields a chain index; the chain is one inlined array lookup
 * (emptcp_<h>_chains[generation * EMPTCP_CHAIN_SLOTS + index]). In the entry program the built-in
 * actors set_recv_win, set_flow_prio and rm_add_addr run in line, as BPF-to-BPF calls of
 * functions the verifier checks once each, straight from the map value (bpf/lib/
 * inline_actors.h says why the others do not). At the first actor that must be tail-called (an
 * operator module, record, recover_add_addr, catch_mptcp_events, or any actor of a chain taken by
 * a tail-called selector) the chain is copied into the scratch and the actors from there on are
 * tail-called in order; each ends with
 * emptcp_act_next() (or returns its own verdict, e.g. a drop). The end of the chain returns
 * EMPTCP_PASS; nothing ever jumps back to the entry. Failed tail calls (empty slot) and chain
 * indexes without a chain are counted, never silent.
 *
 * Generations (abi.h): the entry reads `emptcp_live` once and stores the generation in the
 * packet's key (s->pkt.key.gen), which the tcp2/tcp4 keys, the selector chain, the `tcp`
 * default, the prefilter words and the chain index all carry; every later step of the packet,
 * after any tail call, reads that one generation and never `emptcp_live` again.
 */
#ifndef EMPTCP_CHAIN_H
#define EMPTCP_CHAIN_H

#include <stddef.h>

/* `v & mask` computed at run time: hides the value from the compiler so that it cannot fold the
 * mask into a loop-strength-reduced pointer the verifier would reject. */
static __always_inline __u32 emptcp_mask(__u32 v, __u32 mask)
{
	asm volatile("" : "+r"(v));
	return v & mask;
}

/* Tail call with a constant slot: the JIT turns it into a direct jump (no retpoline), which
 * matters on CPUs with return/indirect-branch mitigations. The asm keeps the compiler from
 * merging call sites, which would make the slot non-constant again. */
static __always_inline void emptcp_tail_call_static(void *ctx, void *map, const __u32 slot)
{
	asm volatile("r1 = %[ctx]\n\t"
		     "r2 = %[map]\n\t"
		     "r3 = %[slot]\n\t"
		     "call 12\n\t"
		     :
		     : [ctx] "r"(ctx), [map] "r"(map), [slot] "i"(slot)
		     : "r0", "r1", "r2", "r3", "r4", "r5");
}

/* Tail-calls `slot` of program array `map` (EMPTCP_PROG_SLOTS entries) through one constant
 * call site per slot. Returns only if the slot is empty. */
static __always_inline void emptcp_tail_call(void *ctx, void *map, __u32 slot)
{
	/* one line per slot: EMPTCP_PROG_SLOTS (32) cases */
	switch (slot) {
	case 0: emptcp_tail_call_static(ctx, map, 0); break;
	case 1: emptcp_tail_call_static(ctx, map, 1); break;
	case 2: emptcp_tail_call_static(ctx, map, 2); break;
	case 3: emptcp_tail_call_static(ctx, map, 3); break;
	case 4: emptcp_tail_call_static(ctx, map, 4); break;
	case 5: emptcp_tail_call_static(ctx, map, 5); break;
	case 6: emptcp_tail_call_static(ctx, map, 6); break;
	case 7: emptcp_tail_call_static(ctx, map, 7); break;
	case 8: emptcp_tail_call_static(ctx, map, 8); break;
	case 9: emptcp_tail_call_static(ctx, map, 9); break;
	case 10: emptcp_tail_call_static(ctx, map, 10); break;
	case 11: emptcp_tail_call_static(ctx, map, 11); break;
	case 12: emptcp_tail_call_static(ctx, map, 12); break;
	case 13: emptcp_tail_call_static(ctx, map, 13); break;
	case 14: emptcp_tail_call_static(ctx, map, 14); break;
	case 15: emptcp_tail_call_static(ctx, map, 15); break;
	case 16: emptcp_tail_call_static(ctx, map, 16); break;
	case 17: emptcp_tail_call_static(ctx, map, 17); break;
	case 18: emptcp_tail_call_static(ctx, map, 18); break;
	case 19: emptcp_tail_call_static(ctx, map, 19); break;
	case 20: emptcp_tail_call_static(ctx, map, 20); break;
	case 21: emptcp_tail_call_static(ctx, map, 21); break;
	case 22: emptcp_tail_call_static(ctx, map, 22); break;
	case 23: emptcp_tail_call_static(ctx, map, 23); break;
	case 24: emptcp_tail_call_static(ctx, map, 24); break;
	case 25: emptcp_tail_call_static(ctx, map, 25); break;
	case 26: emptcp_tail_call_static(ctx, map, 26); break;
	case 27: emptcp_tail_call_static(ctx, map, 27); break;
	case 28: emptcp_tail_call_static(ctx, map, 28); break;
	case 29: emptcp_tail_call_static(ctx, map, 29); break;
	case 30: emptcp_tail_call_static(ctx, map, 30); break;
	case 31: emptcp_tail_call_static(ctx, map, 31); break;
	}
}
_Static_assert(EMPTCP_PROG_SLOTS == 32, "emptcp_tail_call needs one case per program slot");

/* Outcome of one selector step. */
enum emptcp_sel_outcome {
	EMPTCP_SEL_NEXT = 0, /* go on with the next step */
	EMPTCP_SEL_TAKE = 1, /* target: run chain s->chain_idx */
	EMPTCP_SEL_NONE = 2, /* not a target: pass */
};

/* What a built-in actor body returns when it is done with the packet and the chain goes on (no
 * XDP or TC verdict has this value). Bodies are written once, `int body(ctx, s, param)`, and run
 * both in line (bpf/lib/inline_actors.h) and as their own tail-called program (EMPTCP_ACTOR_PROGRAM). */
#define EMPTCP_ACT_NEXT 0x200

/* Hides `p` from the optimiser. After a map lookup it keeps each lookup at its own call site:
 * clang would otherwise merge lookups of different maps into one call, which the verifier can
 * then no longer inline (the generic helper costs an indirect call). */
static __always_inline void *emptcp_opaque(void *p)
{
	asm volatile("" : "+r"(p));
	return p;
}

/* Whether the prefilter may hold `key` (1) or surely does not (0); see abi.h. */
static __always_inline int emptcp_prefilter_maybe(const struct emptcp_scratch *s,
						  const void *key, __u32 key_size)
{
	__u32 bit, word;
	__u64 *bits;

	if (!(s->sel.flags & EMPTCP_SEL_F_PREFILTER))
		return 1;
	bit = emptcp_prefilter_bit(key, key_size);
	word = (__u32)s->pkt.key.gen * EMPTCP_PREFILTER_WORDS + (bit >> 6);
	bits = bpf_map_lookup_elem(&emptcp_prefilter, &word);
	return bits ? (*bits >> (bit & 63)) & 1 : 1;
}

/* Chain index bound by built-in selector `slot` for the in-flight packet (0 = no match), or
 * -EMPTCP_E_NOT_FOUND when `slot` is not a built-in selector. */
static __always_inline long emptcp_sel_builtin(struct emptcp_scratch *s, __u32 slot)
{
	__u64 k2[(sizeof(struct emptcp_tcp2_key) + 7) / 8];
	const __u64 *k4 = (const __u64 *)&s->pkt.key;
	__u32 gen = s->pkt.key.gen, *id;

	switch (slot) {
	case EMPTCP_SEL_TCP4:
		if (!emptcp_prefilter_maybe(s, &s->pkt.key, sizeof(struct emptcp_tcp4_key)))
			return 0;
		id = emptcp_opaque(bpf_map_lookup_elem(&emptcp_tcp4, &s->pkt.key));
		break;
	case EMPTCP_SEL_TCP2:
		/* the tcp2 key is the tcp4 key's first 36 bytes with local_port zeroed (family and
		 * generation, bytes 0-1, kept) */
		k2[0] = k4[0] & bpf_cpu_to_be64(0xffff0000ffffffffull);
		k2[1] = k4[1];
		k2[2] = k4[2];
		k2[3] = k4[3];
		k2[4] = k4[4];
		if (!emptcp_prefilter_maybe(s, k2, sizeof(struct emptcp_tcp2_key)))
			return 0;
		id = emptcp_opaque(bpf_map_lookup_elem(&emptcp_tcp2, k2));
		break;
	case EMPTCP_SEL_TCP:
		id = emptcp_opaque(bpf_map_lookup_elem(&emptcp_tcp_dflt, &gen));
		break;
	default:
		return -EMPTCP_E_NOT_FOUND;
	}
	return id ? *id : 0;
}

/* Applies the result of step s->sel_idx (`chain_idx` 0 = no match) and advances. */
static __always_inline int emptcp_sel_apply(struct emptcp_scratch *s, __u32 chain_idx)
{
	__u8 op = s->sel.steps[emptcp_mask(s->sel_idx, EMPTCP_MAX_SELECTORS - 1)].op;

	s->sel_idx++;
	if (op == EMPTCP_OP_AND) {
		if (!chain_idx)
			return EMPTCP_SEL_NONE;
		s->and_chain = chain_idx;
		return EMPTCP_SEL_NEXT;
	}
	if (!chain_idx)
		return EMPTCP_SEL_NEXT;
	s->chain_idx = chain_idx;
	return EMPTCP_SEL_TAKE;
}

/* Tail-calls the actors of s->chain from s->act_idx on; returns EMPTCP_PASS at the end. */
static __always_inline int emptcp_run_actors(emptcp_ctx *ctx, struct emptcp_scratch *s)
{
	int i;

	for (i = 0; i < EMPTCP_MAX_ACTORS; i++) {
		__u32 idx = *(volatile __u8 *)&s->act_idx;

		if (idx >= s->chain.len || idx >= EMPTCP_MAX_ACTORS)
			break;
		emptcp_tail_call(ctx, &emptcp_actions,
				 s->chain.actors[emptcp_mask(idx, EMPTCP_MAX_ACTORS - 1)].slot);
		emptcp_count(EMPTCP_CNT_TAIL_CALL_FAIL);
		s->act_idx = idx + 1;
	}
	return EMPTCP_PASS;
}

/* Copies chain `c` into the scratch and tail-calls its actors from s->act_idx on. */
static __always_inline int emptcp_tail_actors(emptcp_ctx *ctx, struct emptcp_scratch *s,
					      const struct emptcp_action_chain *c)
{
	int i;

	/* copy the header and only the actors in use */
	__builtin_memcpy(&s->chain, c, offsetof(struct emptcp_action_chain, actors));
	for (i = 0; i < EMPTCP_MAX_ACTORS; i++) {
		if (i >= c->len)
			break;
		__builtin_memcpy(&s->chain.actors[i], &c->actors[i], sizeof(c->actors[0]));
	}
	return emptcp_run_actors(ctx, s);
}

#ifdef EMPTCP_INLINE_ACTORS
/* Result of emptcp_inline_actor() for a slot it does not run in line. */
#define EMPTCP_ACT_NOT_INLINE 0x201
/* Runs built-in actor `slot` in line with its parameter block `param`: EMPTCP_ACT_NEXT, a
 * verdict, or EMPTCP_ACT_NOT_INLINE. Defined by the entry program (bpf/lib/inline_actors.h). */
static __always_inline int emptcp_inline_actor(emptcp_ctx *ctx, struct emptcp_scratch *s,
					       __u32 slot, __u64 param);
#endif

/* Takes action chain s->chain_idx of the packet's generation and runs its actors. */
static __always_inline int emptcp_run_chain(emptcp_ctx *ctx, struct emptcp_scratch *s)
{
	struct emptcp_action_chain *c = NULL;
	__u32 idx = s->chain_idx;

	if (idx < EMPTCP_CHAIN_SLOTS) {
		idx += (__u32)(s->pkt.key.gen & (EMPTCP_GENERATIONS - 1)) * EMPTCP_CHAIN_SLOTS;
		c = bpf_map_lookup_elem(&emptcp_chains, &idx);
	}
	if (!c || !c->len) {
		emptcp_count(EMPTCP_CNT_NO_CHAIN);
		return EMPTCP_PASS;
	}
	emptcp_count(EMPTCP_CNT_TARGET);
#ifdef EMPTCP_INLINE_ACTORS
	__u32 i;

	/* The map value stays valid for the whole run: no copy while the actors run in line. */
	for (i = 0; i < EMPTCP_MAX_ACTORS; i++) {
		const struct emptcp_actor_call *a;
		int r;

		if (i >= c->len)
			return EMPTCP_PASS;
		a = &c->actors[i];
		r = emptcp_inline_actor(ctx, s, a->slot, a->param.raw);
		if (r == EMPTCP_ACT_NOT_INLINE)
			break;
		if (r != EMPTCP_ACT_NEXT)
			return r;
	}
	if (i >= c->len)
		return EMPTCP_PASS;
	/* through map memory, so that the verifier checks the tail-call part once, whichever actor
	 * it starts at */
	s->act_idx = i;
	asm volatile("" ::: "memory");
#else
	s->act_idx = 0;
#endif
	return emptcp_tail_actors(ctx, s, c);
}

/* Walks the selector chain from s->sel_idx on. */
static __always_inline int emptcp_run_selectors(emptcp_ctx *ctx, struct emptcp_scratch *s)
{
	int i, out = EMPTCP_SEL_NONE;

	for (i = 0; i < EMPTCP_MAX_SELECTORS; i++) {
		__u32 idx = s->sel_idx, slot;
		long id;

		if (idx >= s->sel.len || idx >= EMPTCP_MAX_SELECTORS)
			break;
		slot = s->sel.steps[emptcp_mask(idx, EMPTCP_MAX_SELECTORS - 1)].slot;
		id = emptcp_sel_builtin(s, slot);
		if (id < 0) {
			emptcp_tail_call(ctx, &emptcp_selectors, slot);
			emptcp_count(EMPTCP_CNT_TAIL_CALL_FAIL);
			id = 0; /* an empty slot never matches */
		}
		out = emptcp_sel_apply(s, (__u32)id);
		if (out == EMPTCP_SEL_TAKE)
			break;
		if (out == EMPTCP_SEL_NONE)
			return EMPTCP_PASS;
		out = EMPTCP_SEL_NONE;
	}
	/* One place runs the chain: the step that got here is dead, so the verifier checks the
	 * chain once, not once per step. */
	if (out != EMPTCP_SEL_TAKE) {
		if (!s->and_chain)
			return EMPTCP_PASS;
		s->chain_idx = s->and_chain;
	}
	return emptcp_run_chain(ctx, s);
}

/* ---- API for programs ---- */

/* Entry program body: read the live generation once, parse once, then walk that generation's
 * selector chain. */
static __always_inline int emptcp_entry(emptcp_ctx *ctx)
{
	struct emptcp_selector_chain *sc;
	struct emptcp_scratch *s;
	__u32 zero = 0, gen, *live;
	int err;

	emptcp_count(EMPTCP_CNT_PACKETS);
	live = emptcp_opaque(bpf_map_lookup_elem(&emptcp_live, &zero));
	gen = live ? *live & (EMPTCP_GENERATIONS - 1) : 0;
	sc = bpf_map_lookup_elem(&emptcp_sel_chain, &gen);
	if (!sc || !sc->len)
		return EMPTCP_PASS;
	s = emptcp_scratch();
	if (!s)
		return EMPTCP_PASS;
	if (emptcp_linearize(ctx))
		err = -EMPTCP_E_TRUNCATED;
	else
		err = emptcp_parse(ctx, &s->pkt);
	if (err) {
		emptcp_count(err == -EMPTCP_E_NOT_TCP ? EMPTCP_CNT_NOT_TCP : EMPTCP_CNT_MALFORMED);
		return EMPTCP_PASS;
	}
	/* map values are 8-aligned: three loads and stores, not 18 single bytes */
	__builtin_memcpy(&s->sel, __builtin_assume_aligned(sc, 8), sizeof(*sc));
	s->pkt.key.gen = gen; /* the packet's generation from here on, through every tail call */
	s->sel_idx = 0;
	s->and_chain = 0;
	s->chain_idx = 0;
	return emptcp_run_selectors(ctx, s);
}

/* A selector program reports its result: the chain index bound for this packet, 0 = no match.
 * The walk goes on from here (or the chosen chain runs). Return its value from the program. */
static __always_inline int emptcp_sel_result(emptcp_ctx *ctx, __u32 chain_idx)
{
	struct emptcp_scratch *s = emptcp_scratch();
	int out;

	if (!s)
		return EMPTCP_PASS;
	out = emptcp_sel_apply(s, chain_idx);
	if (out == EMPTCP_SEL_TAKE)
		return emptcp_run_chain(ctx, s);
	if (out == EMPTCP_SEL_NONE)
		return EMPTCP_PASS;
	return emptcp_run_selectors(ctx, s);
}

/* Body of a built-in selector program (used only when one is tail-called directly). */
static __always_inline int emptcp_builtin_selector(emptcp_ctx *ctx, __u32 slot)
{
	struct emptcp_scratch *s = emptcp_scratch();
	long id;

	if (!s)
		return EMPTCP_PASS;
	id = emptcp_sel_builtin(s, slot);
	return emptcp_sel_result(ctx, id > 0 ? (__u32)id : 0);
}

/* The parameter block of the actor being run (8 bytes, meaning per actor). */
static __always_inline void *emptcp_act_param(struct emptcp_scratch *s)
{
	return &s->chain.actors[emptcp_mask(s->act_idx, EMPTCP_MAX_ACTORS - 1)].param;
}

/* An actor is done with the packet: run the next actor, or pass at the end of the chain. */
static __always_inline int emptcp_act_next(emptcp_ctx *ctx, struct emptcp_scratch *s)
{
	s->act_idx++;
	return emptcp_run_actors(ctx, s);
}

/* Body of a tail-called built-in actor program: runs `body` with the parameters of the actor
 * being run, then hands over to the next actor unless the body gave a verdict. */
#define EMPTCP_ACTOR_PROGRAM(ctx, body)                                              \
	({                                                                              \
		struct emptcp_scratch *s__ = emptcp_scratch();                              \
		int r__ = EMPTCP_PASS;                                                      \
		if (s__) {                                                                  \
			r__ = body(ctx, s__, emptcp_act_param(s__));                        \
			if (r__ == EMPTCP_ACT_NEXT)                                         \
				r__ = emptcp_act_next(ctx, s__);                            \
		}                                                                           \
		r__;                                                                        \
	})

#endif /* EMPTCP_CHAIN_H */
