// zxing-cpp's QR decoding, timed in process: for each frame of the file
// named on the command line, one line "<index> <cpu ns> <text in hex>" or
// "<index> <cpu ns> -" when nothing was found. Only ReadBarcode is timed,
// with the library's default hints (try harder, rotations, downscaling) as
// its ZXingReader tool uses them, restricted to QR Code. The text is the
// library's UTF-8 conversion (ECI honoured, the charset guessed otherwise).
// Linked against Debian's libzxing (libzxing-dev).
#define ZX_USE_UTF8 1
#include <ZXing/ReadBarcode.h>

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
	ZXing::DecodeHints hints;
	hints.setFormats(ZXing::BarcodeFormat::QRCode);
	for (int i = 0; i < n; i++) {
		ZXing::ImageView img(fr[i].pix, fr[i].w, fr[i].h, ZXing::ImageFormat::Lum);
		long long t0 = cpu_ns();
		ZXing::Result r = ZXing::ReadBarcode(img, hints);
		long long t1 = cpu_ns();
		printf("%d %lld ", i, t1 - t0);
		if (r.isValid()) {
			std::string s = r.text();
			print_hex(reinterpret_cast<const unsigned char *>(s.data()), s.size());
		} else {
			putchar('-');
		}
		putchar('\n');
	}
	return 0;
}
