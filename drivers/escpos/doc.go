// Package escpos drives a thermal receipt printer that speaks ESC/POS over a
// serial line. It renders a hal.Document into ESC/POS bytes (initialise,
// alignment, bold, double size, Chinese in GB18030 through FS &, QR codes
// through GS ( k, feed and cut), wraps text to the paper's width, and reads the
// printer's real-time status (DLE EOT 1..4) before, during and after printing.
//
// The core works on any io.ReadWriter (a serial port, or a pseudo-terminal in
// tests); Open opens a serial port from a board's Config.
//
// It must not know what a receipt says, which board it sits on, or anything
// about payments: it prints lines and reports paper and cover state.
package escpos
