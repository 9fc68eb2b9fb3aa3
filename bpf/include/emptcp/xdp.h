/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hook prelude for XDP (ingress) programs: include this first (or tc.h, never both). It fixes the
 * context type, the pass/drop verdicts and the map name prefix `emptcp_x_` (docs/architecture.md,
 * "Kernel object names"), gives the packet primitives the rest of the SDK is written against, then
 * pulls in the core SDK (maps, packet, parse, chain).
 */
#ifndef EMPTCP_XDP_H
#define EMPTCP_XDP_H

#ifdef EMPTCP_TC_H
#error "include either emptcp/xdp.h or emptcp/tc.h, not both"
#endif

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi.h"
#include "err.h"
#include "csum.h"

#define EMPTCP_HOOK_IS_XDP 1
#define EMPTCP_THIS_HOOK EMPTCP_HOOK_XDP
#define EMPTCP_PASS XDP_PASS
#define EMPTCP_DROP XDP_DROP
#define EMPTCP_MAP(name) emptcp_x_##name

typedef struct xdp_md emptcp_ctx;

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
	return ctx->ingress_ifindex;
}

/* XDP headers are always in the linear part: nothing to pull. */
static __always_inline int emptcp_linearize(emptcp_ctx *ctx)
{
	return 0;
}

/* Copies `len` (1..) packet bytes at `off` into `buf`. */
static __always_inline int emptcp_load_bytes(emptcp_ctx *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_xdp_load_bytes(ctx, off, buf, len) ? -EMPTCP_E_TRUNCATED : 0;
}

/* Writes `len` bytes of `buf` at packet offset `off`; checksums are the caller's business. */
static __always_inline int emptcp_store_bytes(emptcp_ctx *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_xdp_store_bytes(ctx, off, buf, len) ? -EMPTCP_E_HELPER : 0;
}

/* Adds checksum difference `diff` to the L4 checksum at packet offset `csum_off`. */
static __always_inline int emptcp_l4_csum_diff(emptcp_ctx *ctx, __u32 csum_off, __u32 diff)
{
	void *end = emptcp_data_end(ctx);
	__u16 *sum = emptcp_data(ctx) + (csum_off & 0x3ff);

	if ((void *)(sum + 1) > end)
		return -EMPTCP_E_TRUNCATED;
	*sum = emptcp_csum_apply(*sum, diff);
	return 0;
}

/* Updates the L4 checksum at `csum_off` for a 16-bit field changed from `from` to `to`. */
static __always_inline int emptcp_l4_csum_replace2(emptcp_ctx *ctx, __u32 csum_off, __u16 from,
						   __u16 to)
{
	return emptcp_l4_csum_diff(ctx, csum_off, emptcp_csum_diff16(from, to));
}

#include "pkt.h"
#include "maps.h"
#include "parse.h"
#include "chain.h"

#endif /* EMPTCP_XDP_H */
