/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map the data plane shares, declared once. All are pinned by name, so each object opened
 * with the same libbpf `pin_root_path` (the loader uses <pin root>/maps) shares them; an operator
 * module including this header joins the same maps. Kernel names are `emptcp_<h>_<short>`, the
 * hook letter <h> (x / t) chosen by the hook prelude; `emptcp_events`, `emptcp_live` and
 * `emptcp_meta` are shared by both hooks. Every name stays <= 15 characters, the kernel's
 * object-name limit, so the pin name equals the kernel name (docs/architecture.md, "Kernel object
 * names"). C code uses the hook-neutral names at the end of this file. Layouts: abi.h.
 */
#ifndef EMPTCP_MAPS_H
#define EMPTCP_MAPS_H

#ifndef EMPTCP_MAP
#error "include emptcp/xdp.h or emptcp/tc.h first"
#endif

/* Hash maps hold both generations (abi.h): twice the entries of one policy. */
#define EMPTCP_TCP_KEYS_MAX (EMPTCP_GENERATIONS * 128 * 1024)
#define EMPTCP_EVENTS_BYTES (1u << 20)

/* emptcp_<h>_sels: selector programs, tail-called by slot (enum emptcp_selector_slot; operator
 * modules from EMPTCP_FIRST_MODULE_SLOT). Key __u32 slot, value program fd. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, EMPTCP_PROG_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(sels) SEC(".maps");

/* emptcp_<h>_acts: actor programs by slot (enum emptcp_actor_slot). Key __u32, value prog fd. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, EMPTCP_PROG_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(acts) SEC(".maps");

/* emptcp_<h>_selchn: the hook's selector chain per generation, one value written whole. Key gen. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMPTCP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct emptcp_selector_chain);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(selchn) SEC(".maps");

/* emptcp_<h>_tcp2: bindings of the tcp2 selector. Key struct emptcp_tcp2_key (with its generation),
 * value __u32 chain index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMPTCP_TCP_KEYS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct emptcp_tcp2_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(tcp2) SEC(".maps");

/* emptcp_<h>_tcp4: bindings of the tcp4 selector. Key struct emptcp_tcp4_key (with its generation),
 * value __u32 chain index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMPTCP_TCP_KEYS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct emptcp_tcp4_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(tcp4) SEC(".maps");

/* emptcp_<h>_tcp: the `tcp` selector's chain index (every TCP packet). Key gen, value __u32,
 * 0 = none. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMPTCP_GENERATIONS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(tcp) SEC(".maps");

/* emptcp_<h>_prefil: optional negative prefilter of the tcp2/tcp4 bindings (abi.h,
 * EMPTCP_SEL_F_PREFILTER). Key gen * EMPTCP_PREFILTER_WORDS + word, value __u64 (64 bits). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMPTCP_GENERATIONS * EMPTCP_PREFILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(prefil) SEC(".maps");

/* emptcp_<h>_chains: action chains of both generations, an array so that taking a chain costs an
 * inlined index and no hashing. Key gen * EMPTCP_CHAIN_SLOTS + chain index, value struct
 * emptcp_action_chain (len 0 = none). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMPTCP_GENERATIONS * EMPTCP_CHAIN_SLOTS);
	__type(key, __u32);
	__type(value, struct emptcp_action_chain);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(chains) SEC(".maps");

/* emptcp_<h>_counts: per-CPU counters. Key enum emptcp_counter, value __u64 (sum over CPUs). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EMPTCP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(counts) SEC(".maps");

/* emptcp_<h>_pkt: the in-flight packet's parse and chain state (pkt.h). Key 0. Kernel-internal:
 * user space never needs to read or write it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct emptcp_scratch);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} EMPTCP_MAP(pkt) SEC(".maps");

/* emptcp_events: event records of both hooks (abi.h, struct emptcp_event_hdr first). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EMPTCP_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} emptcp_events SEC(".maps");

/* emptcp_live: the live generation (abi.h), read once per packet by both entries. Key 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} emptcp_live SEC(".maps");

/* emptcp_meta: applier bookkeeping. Key enum emptcp_meta_key, value __u64. BPF never writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMPTCP_META_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} emptcp_meta SEC(".maps");

/* Hook-neutral names for the maps above. */
#define emptcp_selectors EMPTCP_MAP(sels)
#define emptcp_actions EMPTCP_MAP(acts)
#define emptcp_sel_chain EMPTCP_MAP(selchn)
#define emptcp_tcp2 EMPTCP_MAP(tcp2)
#define emptcp_tcp4 EMPTCP_MAP(tcp4)
#define emptcp_tcp_dflt EMPTCP_MAP(tcp)
#define emptcp_chains EMPTCP_MAP(chains)
#define emptcp_prefilter EMPTCP_MAP(prefil)
#define emptcp_counters EMPTCP_MAP(counts)
#define emptcp_scratch_map EMPTCP_MAP(pkt)

/* Adds one to counter `idx` of this hook. */
static __always_inline void emptcp_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&emptcp_counters, &idx);

	if (c)
		*c += 1;
}

/* This CPU's scratch for the in-flight packet (never NULL in practice; callers still check). */
static __always_inline struct emptcp_scratch *emptcp_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&emptcp_scratch_map, &zero);
}

#endif /* EMPTCP_MAPS_H */
