/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-flight packet: what the entry program parsed once, kept in the hook's per-CPU scratch
 * (`emptcp_<h>_pkt`) so selectors and actors reached by tail calls need not parse again.
 *
 * Offsets are from the start of the packet (Ethernet header). After a tail call the verifier
 * knows nothing about the packet: re-derive pointers with emptcp_tcp() (bounds-checked).
 */
#ifndef EMPTCP_PKT_H
#define EMPTCP_PKT_H

#include <linux/tcp.h>

/* Largest TCP header offset the parser accepts (Ethernet + IPv6 + extension headers). */
#define EMPTCP_L4_OFF_MAX 255

struct emptcp_pkt {
	/* The flow key oriented for this hook (XDP: local = destination; TC: local = source).
	 * A tcp2 key is its first 36 bytes with local_port zeroed. 8-aligned for word copies. */
	struct emptcp_tcp4_key key __attribute__((aligned(8)));
	__u16 l3_off;   /* IPv4/IPv6 header */
	__u16 l4_off;   /* TCP header, <= EMPTCP_L4_OFF_MAX */
	__u16 tcp_hlen; /* TCP header length incl. options, 20..60 */
	__u8 family;    /* EMPTCP_AF_INET or EMPTCP_AF_INET6 */
	__u8 tcp_flags; /* byte 13 of the TCP header (FIN 0x01 SYN 0x02 RST 0x04 ACK 0x10) */
};

#include "mptcp_opt.h" /* option types used in the scratch below (and tcp_opt.h) */

/* Per-CPU state of the packet being processed on this hook; tail calls keep it. */
struct emptcp_scratch {
	struct emptcp_pkt pkt;
	struct emptcp_selector_chain sel; /* copy of emptcp_<h>_selchn taken by the entry */
	__u8 sel_idx;                     /* selector step being evaluated */
	__u8 act_idx;                     /* actor being run in `chain` */
	__u8 pad[2];
	__u32 and_chain;                  /* chain index of the last matched `and` step, 0 = none */
	__u32 chain_idx;                  /* index of the action chain taken */
	__u32 pad2;
	/* Copy of the chain taken, made only when an actor must be tail-called: actors reached by
	 * tail call read their parameters and the rest of the chain from here. */
	struct emptcp_action_chain chain;
	/* Work space of the running actor (not kept across actors): option walks run faster
	 * through the verifier on map memory than on the stack. */
	struct emptcp_opts opts;
	struct emptcp_mptcp_scan scan;
};

/* The TCP header of the in-flight packet (first 20 bytes checked), or NULL if truncated. */
static __always_inline struct tcphdr *emptcp_tcp(emptcp_ctx *ctx, const struct emptcp_pkt *p)
{
	void *end = emptcp_data_end(ctx);
	struct tcphdr *th = emptcp_data(ctx) + (p->l4_off & EMPTCP_L4_OFF_MAX);

	if ((void *)(th + 1) > end)
		return NULL;
	return th;
}

/* Packet offset of the TCP checksum field. */
static __always_inline __u32 emptcp_tcp_csum_off(const struct emptcp_pkt *p)
{
	return p->l4_off + 16;
}

#endif /* EMPTCP_PKT_H */
