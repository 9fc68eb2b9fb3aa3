/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Example operator module: actor set_dscp [dscp u8] on tc (egress). Rewrites the DSCP bits of
 * the IPv4 TOS / IPv6 traffic class of the packets its chain selects (ECN bits kept), so one
 * subflow's packets can be queued differently along the path. Uses only the SDK headers.
 *
 * Build (bpf/build.sh does it: build/bpf/examples/set_dscp.o), plug in, and use in a policy:
 *	emptcp module add build/bpf/examples/set_dscp.o --hook tc --name set_dscp --kind actor
 *	chains: {ef: [{set_dscp: {param: 46}}]}
 * The parameter block is the 8 bytes of the chain call; this module reads its first byte.
 */
#include <emptcp/tc.h>

SEC("tc")
int emptcp_t_dscp(struct __sk_buff *ctx)
{
	struct emptcp_scratch *s = emptcp_scratch();
	__u8 dscp, b[2], n[2];
	__u16 from, to;
	__u32 off;

	if (!s)
		return EMPTCP_PASS;
	dscp = *(__u8 *)emptcp_act_param(s) & 0x3f;
	off = s->pkt.l3_off;
	if (emptcp_load_bytes(ctx, off, b, 2))
		return emptcp_act_next(ctx, s);
	if (s->pkt.family == EMPTCP_AF_INET) {
		/* byte 1 is the TOS: DSCP (6 bits) and ECN (2 bits) */
		n[0] = b[0];
		n[1] = (dscp << 2) | (b[1] & 0x03);
	} else {
		/* version (4) | traffic class (8) | flow label (20): the class straddles bytes 0-1 */
		__u8 tc = (dscp << 2) | ((b[1] >> 4) & 0x03);

		n[0] = 0x60 | (tc >> 4);
		n[1] = (tc << 4) | (b[1] & 0x0f);
	}
	if (n[0] == b[0] && n[1] == b[1])
		return emptcp_act_next(ctx, s);
	__builtin_memcpy(&from, b, 2);
	__builtin_memcpy(&to, n, 2);
	if (emptcp_store_bytes(ctx, off, n, 2))
		return emptcp_act_next(ctx, s);
	if (s->pkt.family == EMPTCP_AF_INET)
		bpf_l3_csum_replace(ctx, off + 10, from, to, 2);
	return emptcp_act_next(ctx, s);
}

char LICENSE[] SEC("license") = "GPL";
