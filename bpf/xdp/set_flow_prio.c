/* SPDX-License-Identifier: GPL-2.0 */
/* Actor set_flow_prio (xdp); logic shared with the other hook in bpf/lib/set_flow_prio.h. */
#include <emptcp/xdp.h>
#include "../lib/set_flow_prio.h"

SEC("xdp")
int emptcp_x_prio(struct xdp_md *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_set_flow_prio_body);
}

char LICENSE[] SEC("license") = "GPL";
