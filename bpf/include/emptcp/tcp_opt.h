/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP option walking on a copy of the option bytes. Copying once (32-bit words, direct packet
 * reads) keeps the walk free of packet bounds checks: every index is masked into a fixed 64-byte
 * buffer and every walk is bounded by EMPTCP_OPT_MAX (40) steps.
 *
 *	struct emptcp_opt opt;
 *	int r;
 *
 *	if (emptcp_opts_load(ctx, &s->pkt, &s->opts) < 0) ...
 *	r = emptcp_opt_find(&s->opts, EMPTCP_TCPOPT_TS, &opt);   // offset in opts.buf, or < 0
 *
 * Keep the copy in the scratch (s->opts), not on the stack. For a walk of your own, either keep
 * all loop state in map memory as emptcp_mptcp_scan() does (fastest: a few instructions per
 * option), or call emptcp_opt_next() from a bpf_loop() callback as emptcp_opt_find() does (one
 * call per option). An open-coded loop with its state in registers or on the stack makes the
 * verifier walk every path of every step and exceeds its 1M-instruction budget (docs/sdk.md,
 * "Verifier cost").
 */
#ifndef EMPTCP_TCP_OPT_H
#define EMPTCP_TCP_OPT_H

#define EMPTCP_OPT_BUF 64 /* power of two >= EMPTCP_OPT_MAX, indexes are masked with BUF - 1 */

#define EMPTCP_TCPOPT_EOL 0
#define EMPTCP_TCPOPT_NOP 1
#define EMPTCP_TCPOPT_MSS 2
#define EMPTCP_TCPOPT_WSCALE 3
#define EMPTCP_TCPOPT_SACK_OK 4
#define EMPTCP_TCPOPT_SACK 5
#define EMPTCP_TCPOPT_TS 8

/* The options of one segment, copied out of the packet. */
struct emptcp_opts {
	__u8 len; /* option bytes: TCP header length - 20, 0..40, a multiple of 4 */
	__u8 pad[7];
	__u8 buf[EMPTCP_OPT_BUF] __attribute__((aligned(8))); /* byte at TCP offset 20 + i */
};

/* One option found by emptcp_opt_next(). */
struct emptcp_opt {
	__u8 kind;
	__u8 len; /* total length incl. kind and length bytes; 1 for EOL/NOP */
	__u8 off; /* offset in emptcp_opts.buf */
	__u8 pad;
};

/* Byte `i` of the copied options (masked, always in bounds). */
static __always_inline __u8 emptcp_opt_byte(const struct emptcp_opts *o, __u32 i)
{
	return o->buf[i & (EMPTCP_OPT_BUF - 1)];
}

/* Packet offset of option byte `off`. */
static __always_inline __u32 emptcp_opt_pkt_off(const struct emptcp_pkt *p, __u32 off)
{
	return p->l4_off + sizeof(struct tcphdr) + off;
}

/* Copies the segment's options into `o`, the bytes after them up to EMPTCP_OPT_MAX zeroed (a
 * zero byte is EOL; and a loop without an early exit, unrolled, costs the verifier less than one
 * that breaks at the length). Returns the number of option bytes (0..40) or -EMPTCP_E_TRUNCATED.
 * Reads the packet directly, one 32-bit word at a time (option space is a multiple of 4): no
 * helper call. */
static __always_inline int emptcp_opts_load(emptcp_ctx *ctx, const struct emptcp_pkt *p,
					    struct emptcp_opts *o)
{
	__u32 n = p->tcp_hlen - sizeof(struct tcphdr), w;
	__u32 *dst = (__u32 *)o->buf;

	if (n > EMPTCP_OPT_MAX || (n & 3))
		return -EMPTCP_E_TRUNCATED;
#pragma unroll
	for (w = 0; w < EMPTCP_OPT_MAX / 4; w++) {
		void *end = emptcp_data_end(ctx);
		__u32 *src, v = 0;

		if (w * 4 < n) {
			src = emptcp_data(ctx) + (emptcp_opt_pkt_off(p, w * 4) & 0x1ff);
			if ((void *)(src + 1) > end)
				return -EMPTCP_E_TRUNCATED;
			v = *src;
		}
		dst[w] = v;
	}
	o->len = n;
	return n;
}

/* Reads the option at `*pos`: returns 1 with `*opt` filled and `*pos` moved past it, 0 at the
 * end (EOL or no bytes left), -EMPTCP_E_BAD_OPT if its length is 0/1 or runs past the header. */
static __always_inline int emptcp_opt_next(const struct emptcp_opts *o, __u32 *pos,
					   struct emptcp_opt *opt)
{
	__u32 i = *pos, len;
	__u8 kind;

	if (i >= o->len)
		return 0;
	kind = emptcp_opt_byte(o, i);
	if (kind == EMPTCP_TCPOPT_EOL)
		return 0;
	len = 1;
	if (kind != EMPTCP_TCPOPT_NOP) {
		if (i + 1 >= o->len)
			return -EMPTCP_E_BAD_OPT;
		len = emptcp_opt_byte(o, i + 1);
		if (len < 2 || i + len > o->len)
			return -EMPTCP_E_BAD_OPT;
	}
	opt->kind = kind;
	opt->len = len;
	opt->off = i;
	*pos = i + len;
	return 1;
}

/* State of emptcp_opt_find() inside bpf_loop. */
struct emptcp_opt_find_ctx {
	const struct emptcp_opts *o;
	struct emptcp_opt *opt;
	__u32 pos;
	int ret;
	__u8 kind;
};

static long emptcp_opt_find_cb(__u32 i, void *data)
{
	struct emptcp_opt_find_ctx *c = data;
	int r = emptcp_opt_next(c->o, &c->pos, c->opt);

	if (r < 0) {
		c->ret = r;
		return 1;
	}
	if (r == 0)
		return 1;
	if (c->opt->kind == c->kind) {
		c->ret = c->opt->off;
		return 1;
	}
	return 0;
}

/* Finds the first option of `kind`. Returns its offset in o->buf with `*opt` filled,
 * -EMPTCP_E_NOT_FOUND, or -EMPTCP_E_BAD_OPT. The walk runs in bpf_loop, so it costs the
 * verifier one pass whatever the number of options. */
static __always_inline int emptcp_opt_find(const struct emptcp_opts *o, __u8 kind,
					   struct emptcp_opt *opt)
{
	struct emptcp_opt_find_ctx c = {
		.o = o, .opt = opt, .pos = 0, .ret = -EMPTCP_E_NOT_FOUND, .kind = kind,
	};

	if (bpf_loop(EMPTCP_OPT_MAX, emptcp_opt_find_cb, &c, 0) < 0)
		return -EMPTCP_E_HELPER;
	return c.ret;
}

#endif /* EMPTCP_TCP_OPT_H */
