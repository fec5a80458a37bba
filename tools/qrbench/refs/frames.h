/* Reading the frames file the QR benchmark writes, and the result line
 * both reference harnesses print. The file is a sequence of binary PGM
 * images ("P5\n<w> <h>\n255\n" then w*h bytes). Every frame is read into
 * memory before any is decoded, so that only the decoding is timed. */
#ifndef QRBENCH_FRAMES_H
#define QRBENCH_FRAMES_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct frame {
	int w, h;
	unsigned char *pix;
};

/* read_frames returns the number of frames read into *out, or -1. */
static int read_frames(const char *path, struct frame **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int n = 0, cap = 0;
	struct frame *fr = NULL;
	for (;;) {
		int w, h, max;
		if (fscanf(f, "P5 %d %d %d", &w, &h, &max) != 3)
			break;
		fgetc(f); /* the one whitespace byte after the maximum */
		if (w <= 0 || h <= 0 || w > 8192 || h > 8192 || max != 255)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			fr = (struct frame *)realloc(fr, cap * sizeof *fr);
			if (!fr)
				return -1;
		}
		fr[n].w = w;
		fr[n].h = h;
		fr[n].pix = (unsigned char *)malloc((size_t)w * h);
		if (!fr[n].pix || fread(fr[n].pix, 1, (size_t)w * h, f) != (size_t)w * h)
			break;
		n++;
	}
	fclose(f);
	*out = fr;
	return n;
}

/* cpu_ns is the CPU time of the process (every thread a library may use). */
static long long cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* print_hex writes text as hex digits, so that any bytes survive the line. */
static void print_hex(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", s[i]);
}

#endif
