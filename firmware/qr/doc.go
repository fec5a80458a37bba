// Package qr holds the terminal's QR payload formats: EMVCo merchant-presented
// payloads (build and parse, CRC-16 checked), EMVCo consumer-presented payloads
// (parsed far enough to show the application and the masked account), the
// classification of a scanned consumer code (UnionPay, WeChat Pay, Alipay, EMVCo
// CPM, a bank K-code QR) and the rendering of a payload as a QR matrix for the
// display and the printer.
//
// qr is pure data: it must not know how a code was scanned, how a payment is
// sent to the host, what a screen looks like, or what a K code means beyond
// recognising the K-code QR's envelope (the binding package owns the K code).
// A payment code is a bearer credential: nothing here prints one in the clear;
// Code and CPM mask themselves for every fmt verb.
package qr
