/* mkoci: packs files into an OCI image-layout tarball (build-machine tool, used by the
 * Makefile for the pause image and by tests for their busybox image). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cri/oci/oci.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mkoci -o OUT.tar -n NAME:TAG (-a ARCH [-V VARIANT] | -t TRIPLE)\n"
	        "             [-e ENTRYPOINT-ARG]... [-c CMD-ARG]... [-E VAR=VALUE]... [-w DIR]\n"
	        "             SRC=DEST... DEST@LINKTARGET...\n"
	        "  SRC=DEST     copy the file SRC to DEST inside the image (mode kept)\n"
	        "  DEST@TARGET  a symlink DEST -> TARGET inside the image\n");
}

#define MAXV 64

int main(int argc, char **argv)
{
	const char *out = NULL, *entry[MAXV + 1] = { 0 }, *cmd[MAXV + 1] = { 0 },
	           *env[MAXV + 1] = { 0 };
	struct oci_image img = { 0 };
	int ne = 0, nc = 0, nv = 0, opt;

	while ((opt = getopt(argc, argv, "o:n:a:V:t:e:c:E:w:h")) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			img.name = optarg;
			break;
		case 'a':
			img.arch = optarg;
			break;
		case 'V':
			img.variant = optarg;
			break;
		case 't':
			if (!oci_arch(optarg, &img.arch, &img.variant)) {
				fprintf(stderr, "mkoci: unknown target triple %s\n", optarg);
				return 2;
			}
			break;
		case 'e':
			if (ne < MAXV)
				entry[ne++] = optarg;
			break;
		case 'c':
			if (nc < MAXV)
				cmd[nc++] = optarg;
			break;
		case 'E':
			if (nv < MAXV)
				env[nv++] = optarg;
			break;
		case 'w':
			img.workdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!out || !img.name || !img.arch) {
		usage(stderr);
		return 2;
	}
	img.entrypoint = ne ? entry : NULL;
	img.cmd = nc ? cmd : NULL;
	img.env = nv ? env : NULL;
	struct oci_file *files = xcalloc((size_t)(argc - optind + 1), sizeof(*files));
	for (int i = optind; i < argc; i++) {
		char *a = argv[i], *eq = strchr(a, '='), *at = strchr(a, '@');
		struct oci_file *f = &files[img.nfiles++];
		if (eq) {
			*eq = 0;
			f->src = a;
			f->dest = eq + 1;
		} else if (at) {
			*at = 0;
			f->dest = a;
			f->link = at + 1;
		} else {
			fprintf(stderr, "mkoci: '%s' is neither SRC=DEST nor DEST@TARGET\n", a);
			return 2;
		}
	}
	img.files = files;
	struct err e = { 0 };
	if (oci_write(&img, out, &e) < 0) {
		fprintf(stderr, "mkoci: %s\n", e.msg);
		free(files);
		return 1;
	}
	free(files);
	return 0;
}
