// Package hal holds the seams between the terminal's logic and its hardware:
// one small interface per device, shaped by what the firmware needs, and the
// value types that cross those seams.
//
// hal imports nothing of the project's own. It must not know which driver sits
// behind an interface, how a board is wired, or anything about payments beyond
// the masked PAN type that every layer shares.
package hal
