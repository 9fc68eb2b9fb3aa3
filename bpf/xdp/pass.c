/* SPDX-License-Identifier: GPL-2.0 */
/* Bare pass-through program: the benchmark floor for xdp (no maps, no parsing). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int emptcp_x_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
