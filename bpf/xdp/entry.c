/* SPDX-License-Identifier: GPL-2.0 */
/* xdp entry: parse once, walk the selector chain, run the action chain (chain.h), the built-in
 * actors in line (bpf/lib/inline_actors.h). */
#define EMPTCP_INLINE_ACTORS 1
#include <emptcp/xdp.h>
#include "../lib/inline_actors.h"

SEC("xdp")
int emptcp_x_entry(struct xdp_md *ctx)
{
	return emptcp_entry(ctx);
}

char LICENSE[] SEC("license") = "GPL";
