/* SPDX-License-Identifier: GPL-2.0 */
/* The record the `iter/tcp` program (bpf/iter/tcp_state.c) writes per established TCP socket,
 * read by user space (Sources/EmptcpApply/System/Sys+Iterator.swift) at the moment a segment is
 * injected, so the segment carries the subflow's current sequence numbers rather than ones
 * saved from an earlier packet. Addresses and ports as on the wire (network order); sequence
 * numbers and timestamps in host order. */
#ifndef EMPTCP_TCP_ITER_H
#define EMPTCP_TCP_ITER_H

#include <linux/types.h>

#define EMPTCP_TCP_ITER_VERSION 1

struct emptcp_tcp_iter_record {
	__u16 version;   /* EMPTCP_TCP_ITER_VERSION */
	__u8 family;     /* 4 or 6 */
	__u8 state;      /* TCP_ESTABLISHED = 1, ... */
	__u16 local_port;  /* network order */
	__u16 remote_port; /* network order */
	__u8 local[16];  /* IPv4 in the first 4 bytes */
	__u8 remote[16];
	__u32 rcv_nxt;   /* the peer's next sequence number */
	__u32 rcv_wup;   /* rcv_nxt at our last window update: the left edge the stack accepts */
	__u32 snd_una;   /* oldest unacknowledged byte we sent */
	__u32 snd_nxt;   /* next byte we send */
	__u32 snd_wnd;   /* the peer's advertised window, scaled */
	__u32 ts_recent; /* the peer's latest TSval we echo */
	__u8 is_mptcp;   /* 1 when the socket is an MPTCP subflow */
	__u8 snd_wscale; /* the peer's window scale: its raw window field = snd_wnd >> snd_wscale */
	__u16 pad;
	__u32 pad2;
};

#endif
