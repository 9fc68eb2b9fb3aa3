/* SPDX-License-Identifier: GPL-2.0 */
/* tc entry: parse once, walk the selector chain, run the action chain (chain.h). */
#include <emptcp/tc.h>

SEC("tc")
int emptcp_t_entry(struct __sk_buff *ctx)
{
	return emptcp_entry(ctx);
}

char LICENSE[] SEC("license") = "GPL";
