/* SPDX-License-Identifier: GPL-2.0 */
/* Actor record (xdp only); logic in bpf/lib/record.h. */
#include <emptcp/xdp.h>
#include "../lib/record.h"

SEC("xdp")
int emptcp_x_record(struct xdp_md *ctx)
{
	return EMPTCP_ACTOR_PROGRAM(ctx, emptcp_record_body);
}

char LICENSE[] SEC("license") = "GPL";
