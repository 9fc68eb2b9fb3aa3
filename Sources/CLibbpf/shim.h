#ifndef EMPTCP_CLIBBPF_SHIM_H
#define EMPTCP_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
// The record layouts shared with the BPF programs: one header, read by both sides.
#include "../../bpf/include/emptcp/abi.h"
#endif
