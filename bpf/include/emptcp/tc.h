/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hook prelude for TC (egress, sched_cls) programs: include this first (or xdp.h, never both).
 * Works the same under tcx and under a clsact cls_bpf filter in direct-action mode: "pass" is
 * TC_ACT_UNSPEC (-1), so the next tcx program or filter still runs. Checksums go through the skb
 * helpers, which leave CHECKSUM_PARTIAL packets (veth, offload) to be summed later.
 */
#ifndef EMPTCP_TC_H
#define EMPTCP_TC_H

#ifdef EMPTCP_XDP_H
#error "include either emptcp/xdp.h or emptcp/tc.h, not both"
#endif

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi.h"
#include "err.h"
#include "csum.h"

#define EMPTCP_HOOK_IS_TC 1
#define EMPTCP_THIS_HOOK EMPTCP_HOOK_TC
#define EMPTCP_PASS TC_ACT_UNSPEC
#define EMPTCP_DROP TC_ACT_SHOT
/* Map names get the TC prefix `emptcp_t_` (docs/architecture.md, "Kernel object names"). */
#define EMPTCP_MAP(name) emptcp_t_##name

/* Bytes the entry wants in the linear area: Ethernet, IPv6 + extension headers, full TCP header. */
#define EMPTCP_TC_LINEAR 192

typedef struct __sk_buff emptcp_ctx;

static __always_inline void *emptcp_data(const emptcp_ctx *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *emptcp_data_end(const emptcp_ctx *ctx)
{
	return (void *)(long)ctx->data_end;
}

static __always_inline __u32 emptcp_ifindex(const emptcp_ctx *ctx)
{
	return ctx->ifindex;
}

/* Makes the headers directly readable when the stack left them in fragments (rare on egress).
 * Invalidates packet pointers. */
static __always_inline int emptcp_linearize(emptcp_ctx *ctx)
{
	__u32 want = ctx->len < EMPTCP_TC_LINEAR ? ctx->len : EMPTCP_TC_LINEAR;

	if (ctx->data_end - ctx->data >= want)
		return 0;
	return bpf_skb_pull_data(ctx, want) ? -EMPTCP_E_TRUNCATED : 0;
}

static __always_inline int emptcp_load_bytes(emptcp_ctx *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_skb_load_bytes(ctx, off, buf, len) ? -EMPTCP_E_TRUNCATED : 0;
}

/* Writes bytes (unclones the skb when needed); invalidates packet pointers. */
static __always_inline int emptcp_store_bytes(emptcp_ctx *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_skb_store_bytes(ctx, off, buf, len, 0) ? -EMPTCP_E_HELPER : 0;
}

/* Adds checksum difference `diff` to the L4 checksum at `csum_off`, offload-aware. */
static __always_inline int emptcp_l4_csum_diff(emptcp_ctx *ctx, __u32 csum_off, __u32 diff)
{
	return bpf_l4_csum_replace(ctx, csum_off, 0, diff, 0) ? -EMPTCP_E_HELPER : 0;
}

static __always_inline int emptcp_l4_csum_replace2(emptcp_ctx *ctx, __u32 csum_off, __u16 from,
						   __u16 to)
{
	return bpf_l4_csum_replace(ctx, csum_off, from, to, 2) ? -EMPTCP_E_HELPER : 0;
}

#include "pkt.h"
#include "maps.h"
#include "parse.h"
#include "chain.h"

#endif /* EMPTCP_TC_H */
