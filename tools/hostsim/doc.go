// Package hostsim is the acquirer host simulator: a server speaking the
// China UnionPay POS dialect of firmware/acquirer over TCP or an in-process
// pipe. It knows terminals, card accounts and issuer keys from
// testdata/host, issues working keys at sign-on, checks MACs, PIN blocks
// and ARQCs, answers with ARPCs, applies approve/decline rules and amount
// triggers, detects duplicates, applies reversals at most once, reconciles
// settlement totals, takes batch uploads, runs the K-code activation with a
// one-time code, and misbehaves on request (injected faults).
//
// It is a test and demo tool, not firmware: it must not be linked into the
// terminal's binary except by the simulated board, and it must never hold a
// production key. It logs masked PANs only.
package hostsim
