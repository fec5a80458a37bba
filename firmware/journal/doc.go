// Package journal is the terminal's crash-safe memory of money: every
// transaction by trace number, the open batch, the reversal queue and the
// closed batches. A transaction is written before it is acted on and every
// state change is committed (fsync) before the caller goes on, so a power cut
// at any instruction leaves a journal from which the next boot knows exactly
// what to reverse.
//
// Card data (PAN, track 2, ICC data) is sealed with AES-GCM under a key the
// board provides; everything else is plain so that listings and dumps never
// need it. The journal knows nothing of ISO 8583, EMV or screens.
package journal
