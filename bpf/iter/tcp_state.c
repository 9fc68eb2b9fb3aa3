// SPDX-License-Identifier: GPL-2.0
/* iter/tcp: one struct emptcp_tcp_iter_record per TCP socket of the reader's network namespace
 * (listeners and time-wait sockets are skipped). User space reads it when it crafts a segment
 * into a subflow, so the segment's sequence and acknowledgment numbers are the socket's at that
 * moment. The kernel structs are declared here with only the fields we read and
 * preserve_access_index, so libbpf relocates each field against the running kernel's BTF. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "emptcp/tcp_iter.h"

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct in6_addr_words {
	__u32 w[4];
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr_words skc_v6_daddr;
	struct in6_addr_words skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct tcp_options_received {
	__u32 ts_recent;
	__u16 snd_wscale : 4;
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u32 rcv_nxt;
	__u32 rcv_wup;
	__u32 snd_una;
	__u32 snd_nxt;
	__u32 snd_wnd;
	struct tcp_options_received rx_opt;
	_Bool is_mptcp;
} __attribute__((preserve_access_index));

/* The iterator's context: the kernel's struct bpf_iter__tcp, whose two pointers sit at offsets
 * 0 and 8 (checked by the verifier against the kernel's own BTF). */
struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
};

#define AF_INET 2
#define AF_INET6 10
#define TCP_ESTABLISHED 1
#define TCP_CLOSE_WAIT 8

SEC("iter/tcp")
int emptcp_tcpstate(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct emptcp_tcp_iter_record rec = {};
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0; /* a request or time-wait socket */
	rec.state = skc->skc_state;
	if (rec.state != TCP_ESTABLISHED && rec.state != TCP_CLOSE_WAIT)
		return 0;
	rec.version = EMPTCP_TCP_ITER_VERSION;
	rec.local_port = bpf_htons(skc->skc_num);
	rec.remote_port = skc->skc_dport;
	if (skc->skc_family == AF_INET) {
		__be32 l = skc->skc_rcv_saddr, r = skc->skc_daddr;
		rec.family = 4;
		__builtin_memcpy(rec.local, &l, 4);
		__builtin_memcpy(rec.remote, &r, 4);
	} else if (skc->skc_family == AF_INET6) {
		struct in6_addr_words l = skc->skc_v6_rcv_saddr, r = skc->skc_v6_daddr;
		rec.family = 6;
		__builtin_memcpy(rec.local, &l, 16);
		__builtin_memcpy(rec.remote, &r, 16);
	} else {
		return 0;
	}
	rec.rcv_nxt = tp->rcv_nxt;
	rec.rcv_wup = tp->rcv_wup;
	rec.snd_una = tp->snd_una;
	rec.snd_nxt = tp->snd_nxt;
	rec.snd_wnd = tp->snd_wnd;
	rec.ts_recent = tp->rx_opt.ts_recent;
	rec.snd_wscale = BPF_CORE_READ_BITFIELD(tp, rx_opt.snd_wscale);
	rec.is_mptcp = tp->is_mptcp;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
