/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-pass parser: Ethernet -> IPv4 (any IP options) or IPv6 (hop-by-hop, routing and
 * destination-options headers checked as the kernel checks them, then skipped) -> TCP. Fills
 * struct emptcp_pkt, with the flow key oriented for the hook. Non-first fragments, IPv6 fragments
 * and other protocols are NOT_TCP.
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

/* Options of a hop-by-hop or destination-options header, walked as the kernel's ip6_parse_tlv
 * walks them. The kernel drops the packet for an option running past the header, a padding run
 * over 7 bytes, PadN with non-zero contents, more than EMPTCP_IPV6_TLV_MAX other options, or an
 * option it does not know whose type asks for a discard (top two bits not 00); such a packet is
 * passed unchanged, never rewritten (emptcp_ipv6_tlv_ok). The kernel's default limit is 8 options
 * (net.ipv6.max_hbh_opts_number, max_dst_opts_number): a header it accepts then holds at most 8
 * options and 9 padding runs of 7, 71 in all, which bounds the walk. */
#define EMPTCP_IPV6_TLV_MAX 8
#define EMPTCP_IPV6_TLV_STEPS 72

struct emptcp_tlv_walk {
	emptcp_ctx *ctx;
	__u32 off;   /* packet offset of the first option */
	__u32 pos;   /* option bytes walked */
	__u32 len;   /* option bytes in the header */
	__u32 pad;   /* padding bytes in a row */
	__u32 count; /* options other than padding */
	__u8 hopbyhop;
	int ok;      /* 1: the kernel accepts the header; 0: it drops the packet */
};

/* Whether the kernel keeps a packet for one option other than padding: `type`, `datalen` bytes of
 * data, at offset `nh_off` from the IPv6 header, `b4` its fifth data byte. The options the kernel
 * knows are held to its own checks: a router alert has 2 bytes; a jumbo payload goes with an IPv6
 * payload length of 0, which the parser already refuses; CALIPSO has at least 8 bytes and its
 * compartment bitmap fits; IOAM starts 4-aligned. A home address (destination options) is
 * accepted only with Mobile IPv6 configured: emptcp cannot tell, so it passes such a packet
 * unchanged. An option the kernel does not know is skipped when its type's top two bits are 00
 * and drops the packet otherwise. */
static __always_inline int emptcp_ipv6_tlv_ok(__u8 type, __u32 datalen, __u32 nh_off, __u8 b4,
					      __u8 hopbyhop)
{
	if (hopbyhop) {
		switch (type) {
		case 0x05:
			return datalen == 2;
		case 0xc2:
			return 0;
		case 0x07:
			return datalen >= 8 && (__u32)b4 * 4 + 8 <= datalen;
		case 0x31:
			return (nh_off & 3) == 0 && datalen >= 2;
		}
	} else if (type == 0xc9) {
		return 0;
	}
	return (type & 0xc0) == 0;
}

/* One option per call of bpf_loop: the verifier checks this body once, whatever the walk. */
static long emptcp_ipv6_tlv_step(__u64 i, void *arg)
{
	struct emptcp_tlv_walk *w = arg;
	__u8 opt[2];
	__u64 body = 0;
	__u32 optlen, n;
	__u8 b4 = 0;

	w->ok = 0;
	if (w->pos >= w->len) {
		w->ok = w->pos == w->len;
		return 1;
	}
	if (emptcp_load_bytes(w->ctx, w->off + w->pos, opt, 1))
		return 1;
	if (opt[0] == 0) { /* Pad1 */
		if (++w->pad > 7)
			return 1;
		w->pos++;
		return 0;
	}
	if (w->pos + 2 > w->len || emptcp_load_bytes(w->ctx, w->off + w->pos, opt, 2))
		return 1;
	optlen = (__u32)opt[1] + 2;
	if (w->pos + optlen > w->len)
		return 1;
	if (opt[0] == 1) { /* PadN: part of the run of at most 7, all zero */
		w->pad += optlen;
		if (w->pad > 7)
			return 1;
		n = optlen - 2; /* 0..5 after the run check */
		if (n > 7)
			return 1;
		if (n && emptcp_load_bytes(w->ctx, w->off + w->pos + 2, &body, n))
			return 1;
		if (body)
			return 1;
	} else {
		if (++w->count > EMPTCP_IPV6_TLV_MAX)
			return 1;
		if (opt[0] == 0x07 && optlen >= 7 &&
		    emptcp_load_bytes(w->ctx, w->off + w->pos + 6, &b4, 1))
			return 1;
		if (!emptcp_ipv6_tlv_ok(opt[0], optlen - 2, w->off + w->pos - ETH_HLEN, b4,
					w->hopbyhop))
			return 1;
		w->pad = 0;
	}
	w->pos += optlen;
	w->ok = -1;
	return 0;
}

/* 1 when the options header at `off` is one the kernel accepts. A global function: the verifier
 * checks it once, apart from the states of the caller. */
__attribute__((noinline)) int emptcp_ipv6_opts_ok(emptcp_ctx *ctx, __u32 off, __u32 hopbyhop)
{
	struct emptcp_tlv_walk w = { .ctx = ctx, .off = off + 2, .hopbyhop = !!hopbyhop, .ok = -1 };
	__u8 hdr[2];

	if (emptcp_load_bytes(ctx, off, hdr, 2))
		return 0;
	w.len = ((__u32)hdr[1] + 1) * 8 - 2;
	bpf_loop(EMPTCP_IPV6_TLV_STEPS, emptcp_ipv6_tlv_step, &w, 0);
	return w.ok == 1;
}

/* Walks IPv6 extension headers from `*off`; leaves `*off` at TCP. Returns 0 or a negative error.
 * A header the kernel would drop the packet for (see emptcp_ipv6_opts_ok; a hop-by-hop header
 * that is not the first; a routing header with segments left, which this host would have to
 * forward) is TRUNCATED: passed unchanged. */
static __always_inline int emptcp_parse_ipv6_ext(emptcp_ctx *ctx, __u32 *off, __u8 nexthdr)
{
	void *data = emptcp_data(ctx);
	void *end = emptcp_data_end(ctx);
	int i;

#pragma unroll
	for (i = 0; i < EMPTCP_IPV6_EXT_MAX; i++) {
		__u8 *ext;

		if (nexthdr == IPPROTO_TCP)
			return 0;
		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS)
			return -EMPTCP_E_NOT_TCP;
		if (nexthdr == IPPROTO_HOPOPTS && i > 0)
			return -EMPTCP_E_TRUNCATED;
		ext = data + (*off & 0x1ff);
		if ((void *)(ext + 4) > end)
			return -EMPTCP_E_TRUNCATED;
		if (nexthdr == IPPROTO_ROUTING) {
			if (ext[3])
				return -EMPTCP_E_TRUNCATED;
		} else if (!emptcp_ipv6_opts_ok(ctx, *off, nexthdr == IPPROTO_HOPOPTS)) {
			return -EMPTCP_E_TRUNCATED;
		}
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
		err = emptcp_parse_ipv6_ext(ctx, &off, ip6->nexthdr);
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
