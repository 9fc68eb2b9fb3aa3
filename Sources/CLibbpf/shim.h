#ifndef EMPTCP_CLIBBPF_SHIM_H
#define EMPTCP_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
// statfs (bpffs magic check) and mount(2), which Glibc's Swift module does not export.
#include <sys/vfs.h>
#include <sys/mount.h>
// membarrier(2) has no glibc wrapper and syscall(2) is variadic (not callable from Swift).
// MEMBARRIER_CMD_GLOBAL (1, <linux/membarrier.h>) returns after an RCU grace period: every BPF
// program run that had begun before the call has finished (the applier waits so after a
// generation switch). Only the syscall number is included: uapi headers here would take glibc's
// socket constants away from the Glibc module.
#include <sys/syscall.h>
extern long syscall(long number, ...);
static inline int emptcp_membarrier_global(void) { return (int)syscall(__NR_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0, 0); }
// The record layouts shared with the BPF programs: one header, read by both sides.
#include "../../bpf/include/emptcp/abi.h"
// The record of the iter/tcp program the daemon reads subflow state with.
#include "../../bpf/include/emptcp/tcp_iter.h"
#endif
