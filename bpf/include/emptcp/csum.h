/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internet checksum arithmetic (RFC 1071/1624) in the kernel's raw-memory byte order, so results
 * combine directly with bpf_csum_diff() and bpf_l4_csum_replace(). Pure arithmetic, no packet
 * access: the hook headers (xdp.h, tc.h) apply a difference to a packet.
 */
#ifndef EMPTCP_CSUM_H
#define EMPTCP_CSUM_H

#include <linux/types.h>

/* 32-bit one's-complement add (end-around carry). */
static __always_inline __u32 emptcp_csum_add(__u32 a, __u32 b)
{
	__u32 r = a + b;

	return r + (r < a);
}

/* Folds a 32-bit partial sum into the complemented 16-bit checksum. */
static __always_inline __u16 emptcp_csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)~c;
}

/* The difference of replacing 16-bit value `from` by `to` (both as stored in the packet). */
static __always_inline __u32 emptcp_csum_diff16(__u16 from, __u16 to)
{
	return emptcp_csum_add(~(__u32)from, (__u32)to);
}

/* Returns checksum field `sum` updated by `diff` (a bpf_csum_diff()-style difference). */
static __always_inline __u16 emptcp_csum_apply(__u16 sum, __u32 diff)
{
	return emptcp_csum_fold(emptcp_csum_add(diff, ~(__u32)sum));
}

#endif /* EMPTCP_CSUM_H */
