/* SPDX-License-Identifier: GPL-2.0 */
/* tc entry: parse once, walk the selector chain, run the action chain (chain.h), the built-in
 * actors in line (bpf/lib/inline_actors.h). */
#define EMPTCP_INLINE_ACTORS 1
#include <emptcp/tc.h>
#include "../lib/inline_actors.h"

SEC("tc")
int emptcp_t_entry(struct __sk_buff *ctx)
{
	return emptcp_entry(ctx);
}

char LICENSE[] SEC("license") = "GPL";
