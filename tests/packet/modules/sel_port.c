// SPDX-License-Identifier: GPL-2.0
/* Operator selector module (test + docs/sdk.md template): matches packets whose local port has
 * a chain id in its own map `xdp_port_sel` (key: local port, host order; value: chain id). */
#include <emptcp/xdp.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_port_sel SEC(".maps");

SEC("xdp")
int sel_port(struct xdp_md *ctx)
{
	struct emptcp_scratch *s = emptcp_scratch();
	__u32 port, *chain;

	if (!s)
		return XDP_PASS;
	port = bpf_ntohs(s->pkt.key.local_port);
	chain = bpf_map_lookup_elem(&xdp_port_sel, &port);
	return emptcp_sel_result(ctx, chain ? *chain : 0);
}

char LICENSE[] SEC("license") = "GPL";
