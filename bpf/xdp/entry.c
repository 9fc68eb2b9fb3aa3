/* SPDX-License-Identifier: GPL-2.0 */
/* xdp entry: parse once, walk the selector chain, run the action chain (chain.h). */
#include <emptcp/xdp.h>

SEC("xdp")
int emptcp_x_entry(struct xdp_md *ctx)
{
	return emptcp_entry(ctx);
}

char LICENSE[] SEC("license") = "GPL";
