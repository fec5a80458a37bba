// Package binding turns a blank terminal into a merchant's terminal and keeps
// it that way: the bank's K code (typed form with a check character, QR form
// with bank and expiry), the activation exchange with the host (K code, SMS
// one-time code with limited tries and a lockout, terminal master key under a
// transport key derived from the K code, parameters), the binding's status
// (valid, expiring, expired, revoked: sales stop), unbinding (keys and
// parameters wiped), the parameters' limits and fees, and the merchant's own
// settlement account.
//
// binding talks to the host, the key store, the sign-on and the disk only
// through the small interfaces it declares (Host, KeyStore, SignOner, Store);
// it must not know ISO 8583, how keys are stored, how screens look or how a
// sale runs. A K code is key material and a PAN is a PAN: neither reaches a
// log, an error string or a screen except in masked form.
package binding
