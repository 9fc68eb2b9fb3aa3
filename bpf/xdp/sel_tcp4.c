/* SPDX-License-Identifier: GPL-2.0 */
/* Built-in selector tcp4 (xdp); the entry evaluates it inline, this program serves tail calls. */
#include <emptcp/xdp.h>

SEC("xdp")
int emptcp_x_s_tcp4(struct xdp_md *ctx)
{
	return emptcp_builtin_selector(ctx, EMPTCP_SEL_TCP4);
}

char LICENSE[] SEC("license") = "GPL";
