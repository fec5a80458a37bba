// Package entry is what the journal keeps, as values: a transaction and its
// states, kinds and methods, a batch's totals, a settlement's progress and a
// closed batch; and the pure rules over them: where a transaction counts in
// the totals and the day's spending, and which sensitive authentication data
// it may still keep. The JSON encoding of these values is the journal's
// on-disk format: a field's name or tag changes only with the journal's
// version. It knows nothing of bbolt, files or keys; firmware/journal
// re-exports its names.
package entry
