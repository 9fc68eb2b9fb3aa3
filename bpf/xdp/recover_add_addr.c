/* SPDX-License-Identifier: GPL-2.0 */
/* Actor recover_add_addr (xdp only); logic in bpf/lib/recover_add_addr.h. */
#include <emptcp/xdp.h>
#include "../lib/recover_add_addr.h"

SEC("xdp")
int emptcp_x_rcaddr(struct xdp_md *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_recover_add_addr_body);
}

char LICENSE[] SEC("license") = "GPL";
