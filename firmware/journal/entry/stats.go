package entry

// Stats are figures about the journal's size.
type Stats struct {
	Live       int    // transactions in the journal
	Closed     int    // closed batches kept
	FileBytes  int64  // size of the database file
	LiveBytes  int64  // of which in use (the rest is free pages bbolt reuses)
	Trace      uint32 // last trace number handed out
	Wrapped    bool   // trace numbers have wrapped at least once
	KeySlots   int    // transactions still holding sensitive authentication data
	RetainDays int
}
