/* SPDX-License-Identifier: GPL-2.0 */
/* Actor set_flow_prio (tc); logic shared with the other hook in bpf/lib/set_flow_prio.h. */
#include <emptcp/tc.h>
#include "../lib/set_flow_prio.h"

SEC("tc")
int emptcp_t_prio(struct __sk_buff *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_set_flow_prio_body);
}

char LICENSE[] SEC("license") = "GPL";
