// SPDX-License-Identifier: GPL-2.0
/*
 * Test loader with the emptcp loading contract: opens OBJ with pin_root_path = MAPDIR (so the
 * pinned-by-name maps are shared or created there), loads its single program and pins it at
 * PROGPIN. On a verifier rejection the log goes to stderr. Exit 0 on success.
 *   load OBJ MAPDIR PROGPIN
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

static char vlog[1 << 20];

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	if (argc != 4) {
		fprintf(stderr, "usage: %s OBJ MAPDIR PROGPIN\n", argv[0]);
		return 2;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = argv[2],
		    .kernel_log_buf = vlog, .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		fprintf(stderr, "open %s failed\n", argv[1]);
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n%s\n", argv[1], strerror(-err), vlog);
		return 1;
	}
	prog = bpf_object__next_program(obj, NULL);
	err = prog ? bpf_program__pin(prog, argv[3]) : -1;
	if (err) {
		fprintf(stderr, "pin %s failed\n", argv[3]);
		return 1;
	}
	/* the verifier's summary line, e.g. "processed 1234 insns ..." */
	char *p = strstr(vlog, "processed ");
	if (p)
		fprintf(stdout, "%.*s\n", (int)strcspn(p, "\n"), p);
	return 0;
}
