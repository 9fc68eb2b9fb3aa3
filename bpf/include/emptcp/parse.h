/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-pass parser: Ethernet -> IPv4 (any IP options) or IPv6 (hop-by-hop, routing and
 * destination-options headers skipped) -> TCP. Fills struct emptcp_pkt, with the flow key
 * oriented for the hook. Non-first fragments, IPv6 fragments and other protocols are NOT_TCP.
 *
 * Lengths must agree as the kernel's receive path requires (ip_rcv, ipv6_rcv, tcp_v4_rcv), or
 * the packet is TRUNCATED (passed unchanged and counted; the stack drops it): the version nibble
 * must match the ethertype, the IP length (IPv4 total length, IPv6 payload length; 0, a
 * jumbogram, is refused) must not run past the frame, and the TCP header must lie inside the
 * IP packet. Bytes after the IP packet (Ethernet padding) are what the kernel trims: the TCP
 * header is inside the packet, so a rewrite touches only bytes the stack reads.
 */
#ifndef EMPTCP_PARSE_H
#define EMPTCP_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

/* IPv6 extension headers skipped on the way to TCP (each costs a few instructions). */
#define EMPTCP_IPV6_EXT_MAX 4

/* Walks IPv6 extension headers from `*off`; leaves `*off` at TCP. Returns 0 or a negative error. */
static __always_inline int emptcp_parse_ipv6_ext(void *data, void *end, __u32 *off, __u8 nexthdr)
{
	int i;

#pragma unroll
	for (i = 0; i < EMPTCP_IPV6_EXT_MAX; i++) {
		__u8 *ext;

		if (nexthdr == IPPROTO_TCP)
			return 0;
		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS)
			return -EMPTCP_E_NOT_TCP;
		ext = data + (*off & 0x1ff);
		if ((void *)(ext + 2) > end)
			return -EMPTCP_E_TRUNCATED;
		nexthdr = ext[0];
		*off += ((__u32)ext[1] + 1) * 8;
	}
	return nexthdr == IPPROTO_TCP ? 0 : -EMPTCP_E_NOT_TCP;
}

/* Whether an IP packet of `ip_len` bytes from `l3_off` fits the frame. The linear part is
 * checked first, from the context alone; only a packet longer than it asks for the whole
 * frame's length (XDP: with fragments, a helper call; TC: the skb, which is pulled only partly). */
static __always_inline int emptcp_ip_len_ok(emptcp_ctx *ctx, __u32 l3_off, __u32 ip_len)
{
	__u32 linear = (__u32)((long)emptcp_data_end(ctx) - (long)emptcp_data(ctx));

	if (l3_off + ip_len <= linear)
		return 1;
#ifdef EMPTCP_HOOK_IS_XDP
	return l3_off + ip_len <= bpf_xdp_get_buff_len(ctx);
#else
	return l3_off + ip_len <= ctx->len;
#endif
}

/* Parses the packet into `p`. Returns 0, -EMPTCP_E_NOT_TCP or -EMPTCP_E_TRUNCATED. */
static __always_inline int emptcp_parse(emptcp_ctx *ctx, struct emptcp_pkt *p)
{
	void *data = emptcp_data(ctx);
	void *end = emptcp_data_end(ctx);
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 off, hlen, ip_end;

	if ((void *)(eth + 1) > end)
		return -EMPTCP_E_TRUNCATED;
	off = sizeof(*eth);
	__builtin_memset(&p->key, 0, sizeof(p->key));
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 tot;

		if ((void *)(ip + 1) > end)
			return -EMPTCP_E_TRUNCATED;
		if (ip->version != 4 || ip->ihl < 5)
			return -EMPTCP_E_TRUNCATED;
		tot = bpf_ntohs(ip->tot_len);
		if (tot < ip->ihl * 4u || !emptcp_ip_len_ok(ctx, off, tot))
			return -EMPTCP_E_TRUNCATED;
		ip_end = off + tot;
		if (ip->protocol != IPPROTO_TCP || (ip->frag_off & bpf_htons(0x1fff)))
			return -EMPTCP_E_NOT_TCP;
		p->family = EMPTCP_AF_INET;
		p->key.family = EMPTCP_AF_INET;
#ifdef EMPTCP_HOOK_IS_XDP
		__builtin_memcpy(p->key.local, &ip->daddr, 4);
		__builtin_memcpy(p->key.remote, &ip->saddr, 4);
#else
		__builtin_memcpy(p->key.local, &ip->saddr, 4);
		__builtin_memcpy(p->key.remote, &ip->daddr, 4);
#endif
		p->l3_off = off;
		off += ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		int err;

		__u32 plen;

		if ((void *)(ip6 + 1) > end)
			return -EMPTCP_E_TRUNCATED;
		/* payload length 0 is a jumbogram (hop-by-hop option), not for us */
		plen = bpf_ntohs(ip6->payload_len);
		if (ip6->version != 6 || plen == 0 || !emptcp_ip_len_ok(ctx, off, sizeof(*ip6) + plen))
			return -EMPTCP_E_TRUNCATED;
		ip_end = off + sizeof(*ip6) + plen;
		p->family = EMPTCP_AF_INET6;
		p->key.family = EMPTCP_AF_INET6;
#ifdef EMPTCP_HOOK_IS_XDP
		__builtin_memcpy(p->key.local, &ip6->daddr, 16);
		__builtin_memcpy(p->key.remote, &ip6->saddr, 16);
#else
		__builtin_memcpy(p->key.local, &ip6->saddr, 16);
		__builtin_memcpy(p->key.remote, &ip6->daddr, 16);
#endif
		p->l3_off = off;
		off += sizeof(*ip6);
		err = emptcp_parse_ipv6_ext(data, end, &off, ip6->nexthdr);
		if (err)
			return err;
	} else {
		return -EMPTCP_E_NOT_TCP;
	}
	if (off > EMPTCP_L4_OFF_MAX)
		return -EMPTCP_E_TRUNCATED;
	th = data + off;
	if ((void *)(th + 1) > end)
		return -EMPTCP_E_TRUNCATED;
	hlen = th->doff * 4;
	if (hlen < sizeof(*th) || (void *)th + hlen > end || off + hlen > ip_end)
		return -EMPTCP_E_TRUNCATED;
	p->l4_off = off;
	p->tcp_hlen = hlen;
	p->tcp_flags = ((__u8 *)th)[13];
#ifdef EMPTCP_HOOK_IS_XDP
	p->key.local_port = th->dest;
	p->key.remote_port = th->source;
#else
	p->key.local_port = th->source;
	p->key.remote_port = th->dest;
#endif
	return 0;
}

#endif /* EMPTCP_PARSE_H */
