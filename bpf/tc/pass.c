/* SPDX-License-Identifier: GPL-2.0 */
/* Bare pass-through program: the benchmark floor for tc (no maps, no parsing). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int emptcp_t_pass(struct __sk_buff *ctx)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
