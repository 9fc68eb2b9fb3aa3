/* SPDX-License-Identifier: GPL-2.0 */
/* Actor rm_add_addr (tc); logic shared with the other hook in bpf/lib/rm_add_addr.h. */
#include <emptcp/tc.h>
#include "../lib/rm_add_addr.h"

SEC("tc")
int emptcp_t_rmaddr(struct __sk_buff *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_rm_add_addr_body);
}

char LICENSE[] SEC("license") = "GPL";
