// Package journal is the terminal's crash-safe memory of money: every
// transaction by trace number, the open batch, the reversal queue and the
// closed batches. A transaction is written before it is acted on and every
// state change is committed (fsync) before the caller goes on, so a power cut
// at any instruction leaves a journal from which the next boot knows exactly
// what to reverse.
//
// Indexes (by batch, day, RRN, original) and running totals (per batch, per
// day) are kept in the same commit as the records, so nothing a sale or a
// settlement does reads the whole history. Settled batches older than the
// retention window are archived and deleted, and trace numbers wrap, so the
// file stays bounded.
//
// The PAN is sealed with AES-GCM under a key the board provides; track 2 and
// ICC data are sealed under per-transaction keys that are erased as soon as
// nothing can need them (sad.go, firmware/journal/seal). Everything else is
// plain so that listings and dumps never need a key. The journal knows
// nothing of ISO 8583, EMV or screens. Its values and pure rules are
// firmware/journal/entry, its schema firmware/journal/layout, its archive
// format firmware/journal/archive. docs/journal.md describes the layout.
package journal
