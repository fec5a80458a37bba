// Package update installs signed firmware images on the terminal's A/B slots
// and decides, at every boot, which slot runs.
//
// An image is a header (magic, format version, firmware version, board,
// payload length and SHA-256), the payload (the firmware binary) and an
// Ed25519ph signature over header and payload. The Updater verifies an image
// while streaming its payload beside the inactive slot and believes nothing
// in the header before the signature holds (a tampered image is only ever a
// bad signature); then it refuses foreign boards and downgrades (unless
// forced), and switches slots only after every check has passed; a tampered
// or truncated image leaves slots and state untouched. The
// new slot runs on trial until the firmware calls MarkHealthy; a trial slot
// that reports failure or boots too often without confirming is abandoned at
// the next Boot and the previous slot runs again.
//
// update must not know the console, the display, payments or any device: it
// reports progress through a callback and leaves the reboot to its caller. It
// never holds a private key; signing lives in tools/fwsign.
package update
