/* SPDX-License-Identifier: GPL-2.0 */
/* Actor set_recv_win (tc); logic shared with the other hook in bpf/lib/set_recv_win.h. */
#include <emptcp/tc.h>
#include "../lib/set_recv_win.h"

SEC("tc")
int emptcp_t_rwin(struct __sk_buff *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_set_recv_win_body);
}

char LICENSE[] SEC("license") = "GPL";
