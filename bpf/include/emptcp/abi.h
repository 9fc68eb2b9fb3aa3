/* SPDX-License-Identifier: GPL-2.0 */
/*
 * emptcp ABI: every layout shared by the BPF programs and user space.
 *
 * This header is the single source of these layouts: the BPF programs include it, and the Swift
 * applier imports it through the CLibbpf module, so no struct is copied by hand. Only fixed-width
 * types, no pointers, explicit padding. Changing a layout means bumping EMPTCP_ABI_VERSION (and
 * EMPTCP_EVENT_VERSION for ring-buffer records).
 */
#ifndef EMPTCP_ABI_H
#define EMPTCP_ABI_H

#include <linux/types.h>

#define EMPTCP_ABI_VERSION 3

/* Chain limits. The original eMPTCP allowed 4 selectors and 4 actors per chain; we allow 8 each.
 * A tail-call chain may be at most 33 deep: entry + 8 selectors + 8 actors stays far below. */
#define EMPTCP_MAX_SELECTORS 8
#define EMPTCP_MAX_ACTORS 8

/* Program-array sizes per hook. Slots below EMPTCP_FIRST_MODULE_SLOT are the built-in programs;
 * operator modules (`emptcp module add`) take free slots from EMPTCP_FIRST_MODULE_SLOT upwards. */
#define EMPTCP_PROG_SLOTS 32
#define EMPTCP_FIRST_MODULE_SLOT 16

/* Built-in selector slots in the `emptcp_<h>_sels` program array. */
enum emptcp_selector_slot {
	EMPTCP_SEL_TCP = 1,  /* every TCP packet: one default chain      */
	EMPTCP_SEL_TCP2 = 2, /* (local addr, remote addr)                */
	EMPTCP_SEL_TCP4 = 3, /* (local addr, local port, remote, r port) */
};

/* Built-in actor slots in the `emptcp_<h>_acts` program array. */
enum emptcp_actor_slot {
	EMPTCP_ACT_SET_RECV_WIN = 1,
	EMPTCP_ACT_SET_FLOW_PRIO = 2,
	EMPTCP_ACT_RM_ADD_ADDR = 3,
	EMPTCP_ACT_RECOVER_ADD_ADDR = 4,
	EMPTCP_ACT_RECORD = 5,
	EMPTCP_ACT_CATCH_MPTCP_EVENTS = 6,
};

/* Selector operators: OR = first match wins; AND = must match, else not a target (docs/sdk.md). */
enum emptcp_selector_op {
	EMPTCP_OP_OR = 0,
	EMPTCP_OP_AND = 1,
};

/* Generations: the policy maps (`emptcp_<h>_selchn`, `_tcp`, `_tcp2`, `_tcp4`, `_chains`,
 * `_prefil`) hold two complete policies side by side, generation 0 and 1: the array maps by
 * index (generation, generation * EMPTCP_CHAIN_SLOTS + chain index, or generation *
 * EMPTCP_PREFILTER_WORDS + word), the hash maps by a generation carried in the key.
 * `emptcp_live[0]` names the live generation; both entry programs read it once per packet and
 * carry it in the packet's key (scratch) through every tail call, so a packet is handled wholly
 * by one generation. The applier writes only the generation that is not live, then flips
 * `emptcp_live[0]` with one 4-byte write (both hooks at once), then brings the other generation
 * up to date (docs/architecture.md "Atomic switch"). */
#define EMPTCP_GENERATIONS 2

/* `emptcp_<h>_selchn` (ARRAY, EMPTCP_GENERATIONS entries, index = generation): the hook's
 * selector chain, written as one value so the kernel never sees a half-updated chain. */
struct emptcp_selector_step {
	__u8 slot; /* index into emptcp_<h>_sels */
	__u8 op;   /* enum emptcp_selector_op */
};

struct emptcp_selector_chain {
	__u8 len; /* number of steps in use, 0..EMPTCP_MAX_SELECTORS */
	union {
		__u8 pad;
		__u8 flags; /* EMPTCP_SEL_F_*; the applier sets F_PREFILTER in a non-empty chain */
	};
	struct emptcp_selector_step steps[EMPTCP_MAX_SELECTORS];
};

/* Optional negative prefilter for the tcp2/tcp4 selectors (`emptcp_<h>_prefil`, ARRAY of
 * EMPTCP_GENERATIONS * EMPTCP_PREFILTER_WORDS __u64: one 2^20-bit set per generation, words
 * gen * EMPTCP_PREFILTER_WORDS + word). With EMPTCP_SEL_F_PREFILTER set in the generation's
 * selector chain, a tcp2/tcp4 step whose key's bit (emptcp_prefilter_bit, over the key with its
 * generation byte) is clear is a miss without the hash lookup; a set bit means "maybe": the
 * lookup decides. The applier writes a generation's set before that generation goes live; extra
 * bits only cost a lookup. Flag clear: the prefilter is not consulted. */
#define EMPTCP_SEL_F_PREFILTER 0x01
#define EMPTCP_PREFILTER_BITS_LOG 20
#define EMPTCP_PREFILTER_WORDS (1u << (EMPTCP_PREFILTER_BITS_LOG - 6))

/* Bit number of a tcp2 key (36 bytes) or tcp4 key (40 bytes) in the prefilter: FNV-1a over the
 * key's 32-bit words as they lie in memory, then folded. Word = bit >> 6, mask = 1 << (bit & 63).
 * Shared by the BPF side and the applier (callable from Swift). */
static inline __u32 emptcp_prefilter_bit(const void *key, __u32 key_size)
{
	const __u32 *w = (const __u32 *)key;
	__u32 h = 2166136261u, i;

	for (i = 0; i < 10; i++) {
		if (i * 4 >= key_size)
			break;
		h = (h ^ w[i]) * 16777619u;
	}
	h ^= h >> 16;
	return h & ((1u << EMPTCP_PREFILTER_BITS_LOG) - 1);
}

/* `emptcp_meta` (ARRAY, EMPTCP_META_MAX entries of __u64), written by the applier only; BPF
 * never reads it. EMPTCP_META_GEN_REVISION + g is the revision generation g holds completely,
 * 0 while the applier is writing it: the revision in force is the one of the live generation.
 * EMPTCP_META_GEN_DIGEST + g names the content generation g holds completely (a digest of the
 * revision's content and every other input of its encoding, docs/applier.md "The marker"):
 * cleared before the generation is written, set after, so a nonzero digest always describes a
 * generation written to the end. */
enum emptcp_meta_key {
	EMPTCP_META_REVISION = 0,       /* revision of the live generation (a copy, for readers) */
	EMPTCP_META_ABI = 1,            /* EMPTCP_ABI_VERSION of the applier that wrote the maps */
	EMPTCP_META_GEN_REVISION = 2,   /* + generation: 2 and 3 */
	EMPTCP_META_SWITCHING = 4,      /* 1 from just before a switch until the old generation's
	                                 * packets have all finished (then it may be rewritten) */
	EMPTCP_META_GEN_DIGEST = 5,     /* + generation: 5 and 6 */
	EMPTCP_META_MAX = 8,
};

/* `emptcp_live` (ARRAY, 1 entry of __u32): the live generation (0 or 1), shared by both hooks.
 * Written by the applier only, one 4-byte write per switch. */

/* `hook` byte of event records and the hook order used in map names. */
enum emptcp_hook {
	EMPTCP_HOOK_XDP = 0, /* ingress, map names emptcp_x_* */
	EMPTCP_HOOK_TC = 1,  /* egress,  map names emptcp_t_* */
};

/* Address families as stored in keys. */
#define EMPTCP_AF_INET 4
#define EMPTCP_AF_INET6 6

/* Action chains per generation: a binding's value is a chain index 1..EMPTCP_CHAIN_SLOTS - 1
 * (0 = none), the chain's place in `emptcp_<h>_chains` within its generation. */
#define EMPTCP_CHAIN_SLOTS 4096

/* `emptcp_<h>_tcp2` (HASH) key. Addresses are network byte order; IPv4 uses the first 4 bytes and
 * zeroes the rest. XDP keys are seen from the receiver (local = destination), TC keys from the
 * sender (local = source). Value: __u32 chain index. */
struct emptcp_tcp2_key {
	__u8 family; /* EMPTCP_AF_INET or EMPTCP_AF_INET6 */
	__u8 gen;    /* generation of the binding (0 or 1) */
	__u8 pad[2];
	__u8 local[16];
	__u8 remote[16];
};

/* `emptcp_<h>_tcp4` (HASH) key; ports in network byte order. Value: __u32 chain index. */
struct emptcp_tcp4_key {
	__u8 family;
	__u8 gen; /* generation of the binding (0 or 1); same byte as in emptcp_tcp2_key */
	__be16 local_port;
	__u8 local[16];
	__u8 remote[16];
	__be16 remote_port;
	__u8 pad2[2];
};

/* `emptcp_<h>_tcp` (ARRAY, EMPTCP_GENERATIONS entries, index = generation): __u32 chain index
 * of the `tcp` selector, 0 = none. */

/* One actor call inside an action chain. `param` is the actor's parameter block, 8 bytes, whose
 * meaning belongs to the actor (see the emptcp_param_* structs). */
struct emptcp_actor_call {
	__u8 slot; /* index into emptcp_<h>_acts */
	__u8 pad[7];
	union {
		__u64 raw;
		__u8 bytes[8];
	} param;
};

/* `emptcp_<h>_chains` (ARRAY, EMPTCP_GENERATIONS * EMPTCP_CHAIN_SLOTS entries, index = generation *
 * EMPTCP_CHAIN_SLOTS + chain index): one action chain. `len` 0 = no chain at that index (a
 * binding naming it is counted as EMPTCP_CNT_NO_CHAIN). The entry program runs the built-in
 * actors it carries in line and tail-calls the others (docs/sdk.md "Chains"). */
struct emptcp_action_chain {
	__u8 len; /* number of actors, 1..EMPTCP_MAX_ACTORS; 0 = no chain */
	__u8 pad[7];
	struct emptcp_actor_call actors[EMPTCP_MAX_ACTORS];
};

/* Parameter blocks of the built-in actors (overlaid on emptcp_actor_call.param). */
struct emptcp_param_recv_win {
	__u16 window; /* host byte order */
};

struct emptcp_param_flow_prio {
	__u8 backup;      /* B bit */
	__u8 has_addr_id; /* 1: 4-byte MPTCP v0 form with addr_id */
	__u8 addr_id;
};

#define EMPTCP_RECORD_PKT (1u << 0)
#define EMPTCP_RECORD_FLOW (1u << 1)
#define EMPTCP_RECORD_RTT (1u << 2)
struct emptcp_param_record {
	__u8 flags; /* EMPTCP_RECORD_* */
};

/* `emptcp_<h>_counts` (PERCPU_ARRAY, EMPTCP_CNT_MAX entries of __u64): named error and event
 * counters; a failure is never a silent PASS. */
enum emptcp_counter {
	EMPTCP_CNT_PACKETS = 0,         /* packets seen by the entry program */
	EMPTCP_CNT_NOT_TCP = 1,         /* not IPv4/IPv6 TCP, passed */
	EMPTCP_CNT_MALFORMED = 2,       /* truncated or malformed headers, passed unchanged */
	EMPTCP_CNT_TAIL_CALL_FAIL = 3,  /* a tail call to an empty/invalid slot */
	EMPTCP_CNT_NO_CHAIN = 4,        /* a binding names a chain index that holds no chain */
	EMPTCP_CNT_TARGET = 5,          /* packets that matched a selector chain */
	EMPTCP_CNT_ADD_ADDR_NOPPED = 6, /* ADD_ADDR overwritten with NOPs */
	EMPTCP_CNT_ADD_ADDR_DROPPED = 7,/* segment dropped: ADD_ADDR was its only MPTCP option */
	EMPTCP_CNT_RINGBUF_FULL = 8,    /* an event could not be reserved */
	EMPTCP_CNT_PRIO_NO_ROOM = 9,    /* MP_PRIO skipped: no option room */
	EMPTCP_CNT_PRIO_PRESENT = 10,   /* MP_PRIO skipped: already present */
	EMPTCP_CNT_PRIO_ADDED = 11,     /* MP_PRIO inserted */
	EMPTCP_CNT_RECORD_FULL = 12,    /* record: flow table full */
	EMPTCP_CNT_WIN_SET = 13,        /* window rewritten */
	EMPTCP_CNT_BAD_OPTIONS = 14,    /* TCP options malformed: actor skipped, packet unchanged */
	EMPTCP_CNT_MAX = 16,
};

/* ---- Ring-buffer events (`emptcp_events` RINGBUF, shared by both hooks) ---- */
#define EMPTCP_EVENT_VERSION 1

enum emptcp_event_type {
	EMPTCP_EV_MP_CAPABLE = 1,
	EMPTCP_EV_MP_JOIN = 2,
	EMPTCP_EV_FIN = 3,
	EMPTCP_EV_RST = 4,
	EMPTCP_EV_RM_ADD_ADDR = 5,      /* the removed ADD_ADDR option bytes */
	EMPTCP_EV_RECOVER_ADD_ADDR = 6, /* the flow's latest ACK state */
	EMPTCP_EV_MP_PRIO = 7,
};

/* The flow a record is about, as seen on the wire (src/dst, not local/remote). */
struct emptcp_flow {
	__u8 family;
	__u8 pad;
	__be16 sport;
	__be16 dport;
	__u8 pad2[2];
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Every record starts with this header. */
struct emptcp_event_hdr {
	__u16 version; /* EMPTCP_EVENT_VERSION */
	__u16 type;    /* enum emptcp_event_type */
	__u16 len;     /* whole record length in bytes */
	__u8 hook;     /* 0 xdp, 1 tc */
	__u8 pad;
	__u32 ifindex;
	__u32 pad2;
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	struct emptcp_flow flow;
};

/* EMPTCP_EV_RM_ADD_ADDR: the removed option, byte for byte, plus the segment's TCP state so
 * user space can replay it into the stack later. */
#define EMPTCP_OPT_MAX 40
struct emptcp_ev_add_addr {
	struct emptcp_event_hdr hdr;
	__be32 seq;
	__be32 ack;
	__be16 window;
	__u8 dropped; /* 1: the whole segment was dropped, 0: option NOPed */
	__u8 opt_len;
	__u8 opt[EMPTCP_OPT_MAX];
};

/* EMPTCP_EV_RECOVER_ADD_ADDR: the latest ACK state of a flow. */
struct emptcp_ev_ack_state {
	struct emptcp_event_hdr hdr;
	__be32 seq;
	__be32 ack;
	__be16 window;
	__u8 has_ts;
	__u8 has_data_ack;
	__u32 tsval;
	__u32 tsecr;
	__u32 pad; /* explicit: data_ack is 8-byte aligned */
	__u64 data_ack; /* host order; 32-bit acks are zero-extended */
};

/* EMPTCP_EV_MP_CAPABLE / MP_JOIN / FIN / RST / MP_PRIO. */
struct emptcp_ev_mptcp {
	struct emptcp_event_hdr hdr;
	__u8 subtype_flags; /* raw subtype/version byte of the option */
	__u8 tcp_flags;
	__u8 has_local_key;
	__u8 has_remote_key;
	__u32 token; /* MP_JOIN: the peer's token, network byte order as on the wire */
	__u64 local_key;  /* MP_CAPABLE: sender's key, as on the wire (big endian) */
	__u64 remote_key; /* MP_CAPABLE: receiver's key when present */
};

/* `emptcp_x_stats` (PERCPU_HASH, LRU-bounded) for the `record` actor: key struct emptcp_flow. */
struct emptcp_flow_stats {
	__u64 packets;
	__u64 bytes;
	__u64 rtt_samples;
	__u64 rtt_sum_us;
	__u32 rtt_last_us;
	__u32 rtt_min_us;
	__u64 last_ts_ns;
};

#endif /* EMPTCP_ABI_H */
