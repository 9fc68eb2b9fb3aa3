// SPDX-License-Identifier: GPL-2.0
/* Operator actor module (test + docs/sdk.md template): drops the packet when its IPv4 TTL is
 * below the first byte of the actor's parameter, else goes on with the chain. */
#include <emptcp/xdp.h>
#include <linux/ip.h>

SEC("xdp")
int act_ttl(struct xdp_md *ctx)
{
	struct emptcp_scratch *s = emptcp_scratch();
	void *end = emptcp_data_end(ctx);
	struct iphdr *ip;
	__u8 *min_ttl;

	if (!s)
		return XDP_PASS;
	min_ttl = emptcp_act_param(s);
	ip = emptcp_data(ctx) + (s->pkt.l3_off & 0xff);
	if (s->pkt.family == EMPTCP_AF_INET && (void *)(ip + 1) <= end && ip->ttl < *min_ttl)
		return XDP_DROP;
	return emptcp_act_next(ctx, s);
}

char LICENSE[] SEC("license") = "GPL";
