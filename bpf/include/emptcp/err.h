/* SPDX-License-Identifier: GPL-2.0 */
/* Named errors of the SDK helpers. Every helper returns >= 0 on success or one of these, negated. */
#ifndef EMPTCP_ERR_H
#define EMPTCP_ERR_H

enum emptcp_err {
	EMPTCP_E_NOT_TCP = 1,   /* not an IPv4/IPv6 TCP packet (or a non-first fragment) */
	EMPTCP_E_TRUNCATED = 2, /* a header runs past the end of the packet */
	EMPTCP_E_BAD_OPT = 3,   /* malformed TCP option: length 0/1, past the header, bad MPTCP len */
	EMPTCP_E_NOT_FOUND = 4, /* the option or entry looked for is absent */
	EMPTCP_E_HELPER = 5,    /* a kernel helper refused (store/load bytes, checksum) */
	EMPTCP_E_NO_ROOM = 6,   /* no room to grow the header */
};

#endif /* EMPTCP_ERR_H */
