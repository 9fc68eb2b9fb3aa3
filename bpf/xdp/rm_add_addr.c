/* SPDX-License-Identifier: GPL-2.0 */
/* Actor rm_add_addr (xdp); logic shared with the other hook in bpf/lib/rm_add_addr.h. */
#include <emptcp/xdp.h>
#include "../lib/rm_add_addr.h"

SEC("xdp")
int emptcp_x_rmaddr(struct xdp_md *ctx)
{
	return emptcp_rm_add_addr(ctx);
}

char LICENSE[] SEC("license") = "GPL";
