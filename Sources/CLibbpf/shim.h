#ifndef EMPTCP_CLIBBPF_SHIM_H
#define EMPTCP_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
// statfs (bpffs magic check) and mount(2), which Glibc's Swift module does not export.
#include <sys/vfs.h>
#include <sys/mount.h>
// The record layouts shared with the BPF programs: one header, read by both sides.
#include "../../bpf/include/emptcp/abi.h"
// The record of the iter/tcp program the daemon reads subflow state with.
#include "../../bpf/include/emptcp/tcp_iter.h"
#endif
