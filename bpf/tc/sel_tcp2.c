/* SPDX-License-Identifier: GPL-2.0 */
/* Built-in selector tcp2 (tc); the entry evaluates it inline, this program serves tail calls. */
#include <emptcp/tc.h>

SEC("tc")
int emptcp_t_s_tcp2(struct __sk_buff *ctx)
{
	return emptcp_builtin_selector(ctx, EMPTCP_SEL_TCP2);
}

char LICENSE[] SEC("license") = "GPL";
