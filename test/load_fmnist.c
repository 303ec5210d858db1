/*
 * load_fmnist.c - convert an IDX image file + IDX label file (MNIST /
 * Fashion-MNIST format, optionally gzip-compressed) into PostgreSQL COPY
 * text rows:
 *
 *     id <TAB> label <TAB> {v1,v2,...,v784}
 *
 * where v = pixel byte / 255 as a float4, printed with the shortest decimal
 * representation that parses back (strtof) to exactly the same float4.
 *
 * Usage: load_fmnist [-s FIRST_ID] [-n LIMIT] IMAGES[.gz] LABELS[.gz]
 *   -s FIRST_ID  id of the first row (default 1)
 *   -n LIMIT     emit at most LIMIT rows (default: all)
 * Files ending in ".gz" are read through "gzip -dc" (same as zcat).
 *
 * Build: gcc -O2 -Wall -Wextra -o load_fmnist test/load_fmnist.c
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

typedef struct Input
{
	const char *path;
	FILE	   *fp;
	pid_t		child;			/* gzip -dc child, or 0 */
} Input;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "load_fmnist: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t		ls = strlen(s),
				lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static void
input_open(Input *in, const char *path)
{
	in->path = path;
	in->child = 0;
	if (!ends_with(path, ".gz"))
	{
		in->fp = fopen(path, "rb");
		if (!in->fp)
			die("cannot open %s", path);
		return;
	}

	int			fds[2];

	if (pipe(fds) != 0)
		die("pipe failed for %s", path);
	pid_t		pid = fork();

	if (pid < 0)
		die("fork failed for %s", path);
	if (pid == 0)
	{
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(fds[1]);
		execlp("gzip", "gzip", "-dc", "--", path, (char *) NULL);
		fprintf(stderr, "load_fmnist: cannot run gzip: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	in->child = pid;
	in->fp = fdopen(fds[0], "rb");
	if (!in->fp)
		die("fdopen failed for %s", path);
}

static void
input_close(Input *in, int drain)
{
	if (drain)
	{
		char		buf[65536];

		while (fread(buf, 1, sizeof(buf), in->fp) > 0)
			;
	}
	fclose(in->fp);
	if (in->child > 0)
	{
		int			status;

		if (waitpid(in->child, &status, 0) < 0 ||
			!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("decompressing %s failed", in->path);
	}
}

static void
read_exact(Input *in, void *buf, size_t n)
{
	if (fread(buf, 1, n, in->fp) != n)
		die("unexpected end of data in %s", in->path);
}

static uint32_t
read_be32(Input *in)
{
	unsigned char b[4];

	read_exact(in, b, 4);
	return ((uint32_t) b[0] << 24) | ((uint32_t) b[1] << 16) |
		((uint32_t) b[2] << 8) | (uint32_t) b[3];
}

/* Shortest "%.Ng" text of f that strtof() maps back to exactly f. */
static void
shortest_float(float f, char *out, size_t outlen)
{
	for (int prec = 1; prec <= 9; prec++)
	{
		snprintf(out, outlen, "%.*g", prec, (double) f);
		if (strtof(out, NULL) == f)
			return;
	}
	snprintf(out, outlen, "%.9g", (double) f);
}

int
main(int argc, char **argv)
{
	long		first_id = 1;
	long		limit = -1;
	int			opt;

	while ((opt = getopt(argc, argv, "s:n:h")) != -1)
	{
		switch (opt)
		{
			case 's':
				first_id = strtol(optarg, NULL, 10);
				break;
			case 'n':
				limit = strtol(optarg, NULL, 10);
				break;
			default:
				fprintf(stderr,
						"usage: %s [-s FIRST_ID] [-n LIMIT] IMAGES[.gz] LABELS[.gz]\n",
						argv[0]);
				return opt == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2)
	{
		fprintf(stderr, "usage: %s [-s FIRST_ID] [-n LIMIT] IMAGES[.gz] LABELS[.gz]\n",
				argv[0]);
		return 2;
	}

	Input		img,
				lab;

	input_open(&img, argv[optind]);
	input_open(&lab, argv[optind + 1]);

	if (read_be32(&img) != IDX_IMAGES_MAGIC)
		die("%s is not an IDX image file (bad magic)", img.path);
	if (read_be32(&lab) != IDX_LABELS_MAGIC)
		die("%s is not an IDX label file (bad magic)", lab.path);

	uint32_t	n_img = read_be32(&img);
	uint32_t	rows = read_be32(&img);
	uint32_t	cols = read_be32(&img);
	uint32_t	n_lab = read_be32(&lab);

	if (n_img != n_lab)
		die("image and label counts differ (%s)", img.path);
	if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
		die("bad image dimensions in %s", img.path);

	size_t		npix = (size_t) rows * cols;
	long		n = (long) n_img;

	if (limit >= 0 && limit < n)
		n = limit;

	/* Text for each of the 256 possible pixel values. */
	char		txt[256][24];
	size_t		txtlen[256];

	for (int b = 0; b < 256; b++)
	{
		shortest_float((float) b / 255.0f, txt[b], sizeof(txt[b]));
		txtlen[b] = strlen(txt[b]);
	}

	unsigned char *pix = malloc(npix);
	char	   *line = malloc(npix * 24 + 64);

	if (!pix || !line)
		die("out of memory%s", "");

	static char outbuf[1 << 20];

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	for (long i = 0; i < n; i++)
	{
		unsigned char label;

		read_exact(&img, pix, npix);
		read_exact(&lab, &label, 1);

		char	   *p = line;

		p += sprintf(p, "%ld\t%u\t{", first_id + i, (unsigned) label);
		for (size_t k = 0; k < npix; k++)
		{
			if (k > 0)
				*p++ = ',';
			memcpy(p, txt[pix[k]], txtlen[pix[k]]);
			p += txtlen[pix[k]];
		}
		*p++ = '}';
		*p++ = '\n';
		if (fwrite(line, 1, (size_t) (p - line), stdout) != (size_t) (p - line))
			die("write error%s", "");
	}
	if (fflush(stdout) != 0)
		die("write error%s", "");

	/* When stopping early, drain the pipes so gzip exits cleanly. */
	input_close(&img, 1);
	input_close(&lab, 1);
	free(pix);
	free(line);
	return 0;
}
