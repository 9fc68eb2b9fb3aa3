/* SPDX-License-Identifier: GPL-2.0 */
/* Actor catch_mptcp_events (tc only); logic in bpf/lib/catch_mptcp_events.h. */
#include <emptcp/tc.h>
#include "../lib/catch_mptcp_events.h"

SEC("tc")
int emptcp_t_catch(struct __sk_buff *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_catch_mptcp_events_body);
}

char LICENSE[] SEC("license") = "GPL";
