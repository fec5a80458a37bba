/* zbar's QR decoding, timed in process: for each frame of the file named on
 * the command line, one line "<index> <cpu ns> <text in hex>[,<text>...]"
 * or "<index> <cpu ns> -" when nothing was found. Only zbar_scan_image is
 * timed. Linked against Debian's libzbar (libzbar-dev). */
#include <zbar.h>

#include "frames.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s frames.pgm\n", argv[0]);
		return 2;
	}
	struct frame *fr;
	int n = read_frames(argv[1], &fr);
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	zbar_image_scanner_t *sc = zbar_image_scanner_create();
	zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	for (int i = 0; i < n; i++) {
		zbar_image_t *img = zbar_image_create();
		zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
		zbar_image_set_size(img, fr[i].w, fr[i].h);
		zbar_image_set_data(img, fr[i].pix, (unsigned long)fr[i].w * fr[i].h, NULL);
		long long t0 = cpu_ns();
		int found = zbar_scan_image(sc, img);
		long long t1 = cpu_ns();
		printf("%d %lld ", i, t1 - t0);
		int any = 0;
		if (found > 0) {
			for (const zbar_symbol_t *s = zbar_image_first_symbol(img); s; s = zbar_symbol_next(s)) {
				if (zbar_symbol_get_type(s) != ZBAR_QRCODE)
					continue;
				if (any++)
					putchar(',');
				print_hex((const unsigned char *)zbar_symbol_get_data(s), zbar_symbol_get_data_length(s));
			}
		}
		if (!any)
			putchar('-');
		putchar('\n');
		zbar_image_destroy(img);
	}
	zbar_image_scanner_destroy(sc);
	return 0;
}
