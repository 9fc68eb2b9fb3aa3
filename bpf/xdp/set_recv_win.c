/* SPDX-License-Identifier: GPL-2.0 */
/* Actor set_recv_win (xdp); logic shared with the other hook in bpf/lib/set_recv_win.h. */
#include <emptcp/xdp.h>
#include "../lib/set_recv_win.h"

SEC("xdp")
int emptcp_x_rwin(struct xdp_md *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_set_recv_win_body);
}

char LICENSE[] SEC("license") = "GPL";
