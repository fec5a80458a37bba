// Package camera is the QR scanner built from a V4L2 camera and in-process
// decoding: it captures 640×480 YUYV or GREY frames (blackjack/webcam),
// takes their luminance, and decodes QR codes with gozxing behind a
// preprocessing pipeline (contrast stretching, denoising, scaling,
// sharpening, several binarizers) run within a per-frame time budget.
//
// Camera implements hal.Scanner. Decoder is usable on its own (the decoding
// benchmark and the tests feed it frames from files).
//
// The package must not know what the codes mean (payment codes, merchant
// codes, K codes: that is firmware/qr's business) nor which board it is on
// beyond its Config.
package camera
