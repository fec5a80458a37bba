// Package selection is EMV application selection on the card's side (EMV
// Book 1 12, Book B for contactless): the candidate list from the Payment
// System Environment with its directories, from the terminal's list of AIDs,
// or from the Proximity Payment System Environment, the candidates' order,
// and the final SELECT of the one chosen.
//
// It knows nothing of the cardholder, the transaction or what follows the
// selection: the kernel asks the cardholder, initiates the application and
// comes back for the next candidate when that fails.
package selection

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/tlv"
)

// Outcomes of selection the terminal branches on; package emv exports them
// under the same names.
var (
	// ErrCardBlocked reports a blocked card (6A81 to SELECT).
	ErrCardBlocked = errors.New("emv: card blocked")
	// ErrUseContact reports a contactless transaction the card or the limits
	// refuse: insert the card.
	ErrUseContact = errors.New("emv: contactless not possible, insert card")
)

// The directory names of the payment system environments.
const (
	pseName  = "1PAY.SYS.DDF01"
	ppseName = "2PAY.SYS.DDF01"
)

// maxSelectNext bounds SELECT NEXT loops and directory records against a
// card that never ends them.
const maxSelectNext = 16

// maxDDFDepth bounds nested directories (a DDF entry, tag 9D, inside the
// PSE directory).
const maxDDFDepth = 2

// Candidate is a mutually supported application.
type Candidate struct {
	ADF      []byte
	Label    string               // tag 50 as the card sent it, printable
	Priority byte                 // tag 87 as the card sent it
	AID      *emvconfig.AIDConfig // the terminal's entry it matched
	order    int                  // position in the card's list, for stable sorting
}

// rank is the priority for ordering: 1 first, none (0) last.
func (c Candidate) rank() int {
	p := int(c.Priority & 0x0F)
	if p == 0 {
		return 16
	}
	return p
}

// Order sorts candidates by priority, keeping the card's order among equals.
func Order(cands []Candidate) {
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].rank() < cands[j].rank() })
}

// Selector selects on one card.
type Selector struct {
	// Send sends one command to the card (apdu.Transmit with the
	// kernel's bookkeeping).
	Send func(ctx context.Context, name string, cmd []byte) (apdu.Response, error)
	// AIDs are the applications the terminal accepts.
	AIDs []emvconfig.AIDConfig
	// Contactless: only applications enabled for contactless match.
	Contactless bool
}

// matchAID returns the terminal entry an ADF name matches: exactly, or by
// partial name when the entry allows it.
func (s *Selector) matchAID(adf []byte) *emvconfig.AIDConfig {
	for i := range s.AIDs {
		a := &s.AIDs[i]
		if s.Contactless && !a.Contactless.Enabled {
			continue
		}
		if bytes.Equal(a.AID, adf) || a.Partial && len(adf) > len(a.AID) && bytes.HasPrefix(adf, a.AID) {
			return a
		}
	}
	return nil
}

// candidate builds the candidate of an entry (directory entry or FCI)
// whose objects are objs.
func candidate(adf []byte, cfg *emvconfig.AIDConfig, objs []tlv.TLV, order int) Candidate {
	c := Candidate{ADF: bytes.Clone(adf), AID: cfg, order: order}
	if l, ok := tlv.Find(objs, 0x50); ok {
		c.Label = tlv.Printable(l.Value)
	}
	if p, ok := tlv.Find(objs, 0x87); ok && len(p.Value) == 1 {
		c.Priority = p.Value[0]
	}
	return c
}

// PSE reads the Payment System Environment. usePSE is false when the card
// has none or it is unusable, and the list of AIDs must be used.
func (s *Selector) PSE(ctx context.Context) (cands []Candidate, usePSE bool, err error) {
	r, err := s.Send(ctx, "SELECT PSE", apdu.Select([]byte(pseName), false))
	if err != nil {
		return nil, false, err
	}
	switch r.SW {
	case apdu.SWOK:
	case apdu.SWCardBlocked:
		return nil, false, fmt.Errorf("emv: SELECT PSE: %w", ErrCardBlocked)
	case apdu.SWInstructionIssue, apdu.SWClassIssue:
		return nil, false, apdu.BadSW("SELECT PSE", r.SW)
	default:
		return nil, false, nil
	}
	ok, err := s.readDirectory(ctx, r.Data, 0, &cands)
	if err != nil || !ok {
		return nil, false, err
	}
	return cands, true, nil
}

// readDirectory reads the directory whose FCI is fci and adds the entries
// that match a terminal AID to cands, following DDF entries (Book 1
// 12.3.2). ok is false when the directory is unusable and the list of
// AIDs must be used instead.
func (s *Selector) readDirectory(ctx context.Context, fci []byte, depth int, cands *[]Candidate) (bool, error) {
	objs, err := tlv.Parse(fci)
	if err != nil {
		return false, nil
	}
	sfiObj, ok := tlv.Find(objs, 0x88)
	if !ok || len(sfiObj.Value) != 1 || sfiObj.Value[0] < 1 || sfiObj.Value[0] > 10 {
		return false, nil
	}
	sfi := sfiObj.Value[0]
	for rec := byte(1); rec <= maxSelectNext; rec++ {
		r, err := s.Send(ctx, "READ RECORD (directory)", apdu.ReadRecord(sfi, rec))
		if err != nil {
			return false, err
		}
		if r.SW == apdu.SWRecordNotFound {
			break
		}
		if r.SW != apdu.SWOK {
			return false, nil
		}
		tmpl, err := tlv.ParseOne(r.Data)
		if err != nil || tmpl.Tag != 0x70 {
			return false, nil
		}
		for _, e := range tmpl.Children {
			if e.Tag != 0x61 {
				continue
			}
			if ddf, ok := tlv.Find(e.Children, 0x9D); ok {
				if depth+1 > maxDDFDepth || len(ddf.Value) < 5 || len(ddf.Value) > 16 {
					continue
				}
				r, err := s.Send(ctx, "SELECT DDF", apdu.Select(ddf.Value, false))
				if err != nil {
					return false, err
				}
				if r.SW != apdu.SWOK {
					continue
				}
				if ok, err := s.readDirectory(ctx, r.Data, depth+1, cands); err != nil || !ok {
					return ok, err
				}
				continue
			}
			adf, ok := tlv.Find(e.Children, 0x4F)
			if !ok || len(adf.Value) < 5 || len(adf.Value) > 16 {
				return false, nil
			}
			if cfg := s.matchAID(adf.Value); cfg != nil {
				*cands = append(*cands, candidate(adf.Value, cfg, e.Children, len(*cands)))
			}
		}
	}
	return true, nil
}

// AIDList tries every terminal AID with SELECT (and SELECT NEXT for
// partial names), Book 1 12.3.3.
func (s *Selector) AIDList(ctx context.Context) ([]Candidate, error) {
	var cands []Candidate
	for i := range s.AIDs {
		a := &s.AIDs[i]
		next := false
		for n := 0; n < maxSelectNext; n++ {
			r, err := s.Send(ctx, "SELECT", apdu.Select(a.AID, next))
			if err != nil {
				return nil, err
			}
			if r.SW == apdu.SWCardBlocked {
				return nil, fmt.Errorf("emv: SELECT: %w", ErrCardBlocked)
			}
			if r.SW != apdu.SWOK && r.SW != apdu.SWAppBlocked {
				break
			}
			fci, err := tlv.Parse(r.Data)
			if err != nil {
				break
			}
			df, ok := tlv.Find(fci, 0x84)
			if !ok {
				break
			}
			exact := bytes.Equal(df.Value, a.AID)
			partial := a.Partial && len(df.Value) > len(a.AID) && bytes.HasPrefix(df.Value, a.AID)
			if (exact || partial) && r.SW == apdu.SWOK {
				cands = append(cands, candidate(df.Value, a, fci, len(cands)))
			}
			if exact || !a.Partial {
				break
			}
			next = true
		}
	}
	return cands, nil
}

// PPSE reads the Proximity Payment System Environment.
func (s *Selector) PPSE(ctx context.Context) ([]Candidate, error) {
	r, err := s.Send(ctx, "SELECT PPSE", apdu.Select([]byte(ppseName), false))
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWOK {
		return nil, fmt.Errorf("emv: SELECT PPSE: SW %04X: %w", r.SW, ErrUseContact)
	}
	fci, err := tlv.Parse(r.Data)
	if err != nil {
		return nil, fmt.Errorf("emv: PPSE: %v: %w", err, ErrUseContact)
	}
	dd, ok := tlv.Find(fci, 0xBF0C)
	if !ok {
		return nil, fmt.Errorf("emv: PPSE without directory: %w", ErrUseContact)
	}
	var cands []Candidate
	for _, e := range dd.Children {
		if e.Tag != 0x61 {
			continue
		}
		adf, ok := tlv.Find(e.Children, 0x4F)
		if !ok || len(adf.Value) < 5 || len(adf.Value) > 16 {
			continue
		}
		if cfg := s.matchAID(adf.Value); cfg != nil {
			cands = append(cands, candidate(adf.Value, cfg, e.Children, len(cands)))
		}
	}
	return cands, nil
}

// Final selects the chosen application and returns its FCI's objects. ok
// is false when the application cannot be used and the next one should be
// tried; a blocked card (6A81) ends the transaction with ErrCardBlocked.
func (s *Selector) Final(ctx context.Context, c Candidate) (fci []tlv.TLV, ok bool, err error) {
	r, err := s.Send(ctx, "SELECT", apdu.Select(c.ADF, false))
	if err != nil {
		return nil, false, err
	}
	if r.SW == apdu.SWCardBlocked {
		// EMV Book 1, final selection: the card is blocked; terminate,
		// try no other application.
		return nil, false, fmt.Errorf("emv: final SELECT: %w", ErrCardBlocked)
	}
	if r.SW != apdu.SWOK {
		return nil, false, nil
	}
	tmpl, err := tlv.ParseOne(r.Data)
	if err != nil || tmpl.Tag != 0x6F {
		return nil, false, nil
	}
	df, ok := tlv.Find(tmpl.Children, 0x84)
	if !ok || !bytes.Equal(df.Value, c.ADF) {
		return nil, false, nil
	}
	if _, ok := tlv.Find(tmpl.Children, 0xA5); !ok {
		return nil, false, nil
	}
	return tmpl.Children, true, nil
}
