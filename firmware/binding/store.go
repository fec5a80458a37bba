package binding

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"kpos/firmware/durable"
)

// recordVersion is the version of the Record layout on disk.
const recordVersion = 1

// Record is the binding as it is stored: the state, what the host delivered,
// the status and the lockout. It holds no key and no K code (only its masked
// form); the keys live in the key store.
type Record struct {
	Version       int                `json:"version"`
	State         State              `json:"state"`
	Bank          string             `json:"bank,omitempty"`
	CodeMasked    string             `json:"code_masked,omitempty"`
	TID           string             `json:"tid,omitempty"`
	MID           string             `json:"mid,omitempty"`
	MerchantName  string             `json:"merchant_name,omitempty"`
	MCC           string             `json:"mcc,omitempty"`
	City          string             `json:"city,omitempty"`
	AcquirerIIN   string             `json:"acquirer_iin,omitempty"`
	Params        *Params            `json:"params,omitempty"`
	BoundAt       time.Time          `json:"bound_at,omitzero"`
	Expiry        time.Time          `json:"expiry,omitzero"`
	Status        StatusKind         `json:"status,omitempty"`
	StatusReason  string             `json:"status_reason,omitempty"`
	StatusChecked time.Time          `json:"status_checked,omitzero"`
	FailedOTP     int                `json:"failed_otp,omitempty"`
	LockedUntil   time.Time          `json:"locked_until,omitzero"`
	Account       *SettlementAccount `json:"account,omitempty"`
}

// Store keeps the Record durably. Save must leave either the old or the new
// record on disk, never a mix, whatever happens to the power.
type Store interface {
	Load() (Record, error)
	Save(Record) error
}

// FileStore is a Store in one JSON file, written the durable way: a temporary
// file in the same directory, fsync, close, rename over the old file, fsync
// of the directory.
type FileStore struct {
	path string
}

// NewFileStore returns a store at path; the directory must exist.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Load reads the record; a missing file is a blank terminal.
func (s *FileStore) Load() (Record, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{Version: recordVersion, State: StateBlank}, nil
	}
	if err != nil {
		return Record{}, fmt.Errorf("binding: reading the binding record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("binding: binding record %s is damaged: %w", filepath.Base(s.path), err)
	}
	if r.Version != recordVersion {
		return Record{}, fmt.Errorf("binding: binding record version %d, this firmware reads %d", r.Version, recordVersion)
	}
	return r, nil
}

// Save replaces the record durably.
func (s *FileStore) Save(r Record) error {
	r.Version = recordVersion
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("binding: encoding the binding record: %w", err)
	}
	if err := durable.WriteFile(s.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("binding: saving the binding record: %w", err)
	}
	return nil
}
