package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// The directory names of the payment system environments.
const (
	pseName  = "1PAY.SYS.DDF01"
	ppseName = "2PAY.SYS.DDF01"
)

// maxSelectNext bounds SELECT NEXT loops and directory records against a
// card that never ends them.
const maxSelectNext = 16

// candidate is a mutually supported application.
type candidate struct {
	adf      []byte
	label    string
	priority byte // tag 87 as the card sent it
	cfg      *emvconfig.AIDConfig
	order    int // position in the card's list, for stable sorting
}

func (c candidate) rank() int {
	p := int(c.priority & 0x0F)
	if p == 0 {
		return 16
	}
	return p
}

// matchAID returns the terminal entry an ADF name matches: exactly, or by
// partial name when the entry allows it.
func (s *session) matchAID(adf []byte) *emvconfig.AIDConfig {
	for i := range s.k.cfg.AIDs {
		a := &s.k.cfg.AIDs[i]
		if s.iface == hal.Contactless && !a.Contactless.Enabled {
			continue
		}
		if bytes.Equal(a.AID, adf) || a.Partial && len(adf) > len(a.AID) && bytes.HasPrefix(adf, a.AID) {
			return a
		}
	}
	return nil
}

// buildCandidates runs the directory method (PSE for contact, PPSE for
// contactless) and, for contact cards, falls back to the list of AIDs.
func (s *session) buildCandidates(ctx context.Context) ([]candidate, error) {
	if s.iface == hal.Contactless {
		return s.ppse(ctx)
	}
	cands, usePSE, err := s.pse(ctx)
	if err == nil && !(usePSE && len(cands) > 0) {
		cands, err = s.aidList(ctx)
	}
	if err != nil && chipUnusable(err) {
		return nil, fmt.Errorf("%w: %w", ErrFallback, err)
	}
	return cands, err
}

// chipUnusable reports a selection failure that is the chip's, not the
// cardholder's or the card's rules: the card does not talk or does not
// know SELECT. The stripe may then be used (fallback).
func chipUnusable(err error) bool {
	if errors.Is(err, ErrCardRemoved) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrCardBlocked) || errors.Is(err, ErrCancelled) {
		return false
	}
	return true
}

// pse reads the Payment System Environment. usePSE is false when the card
// has none or it is unusable, and the list of AIDs must be used.
func (s *session) pse(ctx context.Context) ([]candidate, bool, error) {
	r, err := s.transmit(ctx, "SELECT PSE", apdu.Select([]byte(pseName), false))
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
	var cands []candidate
	ok, err := s.readDirectory(ctx, r.Data, 0, &cands)
	if err != nil || !ok {
		return nil, false, err
	}
	return cands, true, nil
}

// maxDDFDepth bounds nested directories (a DDF entry, tag 9D, inside the
// PSE directory).
const maxDDFDepth = 2

// readDirectory reads the directory whose FCI is fci and adds the entries
// that match a terminal AID to cands, following DDF entries (Book 1
// 12.3.2). ok is false when the directory is unusable and the list of
// AIDs must be used instead.
func (s *session) readDirectory(ctx context.Context, fci []byte, depth int, cands *[]candidate) (bool, error) {
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
		r, err := s.transmit(ctx, "READ RECORD (directory)", apdu.ReadRecord(sfi, rec))
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
				r, err := s.transmit(ctx, "SELECT DDF", apdu.Select(ddf.Value, false))
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
			cfg := s.matchAID(adf.Value)
			if cfg == nil {
				continue
			}
			c := candidate{adf: clone(adf.Value), cfg: cfg, order: len(*cands)}
			if l, ok := tlv.Find(e.Children, 0x50); ok {
				c.label = printable(l.Value)
			}
			if p, ok := tlv.Find(e.Children, 0x87); ok && len(p.Value) == 1 {
				c.priority = p.Value[0]
			}
			*cands = append(*cands, c)
		}
	}
	return true, nil
}

// aidList tries every terminal AID with SELECT (and SELECT NEXT for
// partial names), Book 1 12.3.3.
func (s *session) aidList(ctx context.Context) ([]candidate, error) {
	var cands []candidate
	for i := range s.k.cfg.AIDs {
		a := &s.k.cfg.AIDs[i]
		next := false
		for n := 0; n < maxSelectNext; n++ {
			r, err := s.transmit(ctx, "SELECT", apdu.Select(a.AID, next))
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
				c := candidate{adf: clone(df.Value), cfg: a, order: len(cands)}
				if l, ok := tlv.Find(fci, 0x50); ok {
					c.label = printable(l.Value)
				}
				if p, ok := tlv.Find(fci, 0x87); ok && len(p.Value) == 1 {
					c.priority = p.Value[0]
				}
				cands = append(cands, c)
			}
			if exact || !a.Partial {
				break
			}
			next = true
		}
	}
	return cands, nil
}

// ppse reads the Proximity Payment System Environment.
func (s *session) ppse(ctx context.Context) ([]candidate, error) {
	r, err := s.transmit(ctx, "SELECT PPSE", apdu.Select([]byte(ppseName), false))
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
	var cands []candidate
	for _, e := range dd.Children {
		if e.Tag != 0x61 {
			continue
		}
		adf, ok := tlv.Find(e.Children, 0x4F)
		if !ok || len(adf.Value) < 5 || len(adf.Value) > 16 {
			continue
		}
		cfg := s.matchAID(adf.Value)
		if cfg == nil {
			continue
		}
		c := candidate{adf: clone(adf.Value), cfg: cfg, order: len(cands)}
		if l, ok := tlv.Find(e.Children, 0x50); ok {
			c.label = printable(l.Value)
		}
		if p, ok := tlv.Find(e.Children, 0x87); ok && len(p.Value) == 1 {
			c.priority = p.Value[0]
		}
		cands = append(cands, c)
	}
	return cands, nil
}

// choose picks a candidate: by priority, asking the cardholder when there
// are several or the card wants confirmation (bit 8 of tag 87), never for
// contactless.
func (s *session) choose(ctx context.Context, cands []candidate) (int, error) {
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].rank() < cands[j].rank() })
	if s.iface == hal.Contactless || s.ch == nil {
		return 0, nil
	}
	confirm := cands[0].priority&0x80 != 0 && !cands[0].cfg.ConfirmationNone
	if len(cands) == 1 && !confirm {
		return 0, nil
	}
	apps := make([]Candidate, len(cands))
	for i, c := range cands {
		label := c.label
		if label == "" {
			label = c.cfg.Label
		}
		apps[i] = Candidate{AID: clone(c.adf), Label: label, Priority: int(c.priority & 0x0F)}
	}
	i, err := s.ch.ChooseApplication(ctx, apps)
	if err != nil {
		return 0, fmt.Errorf("emv: application choice: %w: %w", ErrCancelled, err)
	}
	if i < 0 || i >= len(cands) {
		return 0, fmt.Errorf("emv: application choice %d out of range: %w", i, ErrCancelled)
	}
	return i, nil
}

// selectAndInitiate builds the candidate list, selects an application and
// initiates it with GET PROCESSING OPTIONS, going back to the list when
// the final SELECT fails or the card refuses GPO (6985), Book 3 10.1.
func (s *session) selectAndInitiate(ctx context.Context) error {
	cands, err := s.buildCandidates(ctx)
	if err != nil {
		return err
	}
	for {
		if len(cands) == 0 {
			if s.iface == hal.Contactless {
				return fmt.Errorf("emv: %w: %w", ErrNoApplication, ErrUseContact)
			}
			if s.ch != nil {
				s.ch.Notify(ctx, NoticeUseOtherCard)
			}
			return ErrNoApplication
		}
		i, err := s.choose(ctx, cands)
		if err != nil {
			return err
		}
		c := cands[i]
		cands = append(cands[:i:i], cands[i+1:]...)
		ok, err := s.finalSelect(ctx, c)
		if err != nil {
			return err
		}
		if !ok {
			s.retryNotice(ctx)
			continue
		}
		err = s.initiate(ctx)
		if errors.Is(err, errGPORefused) {
			s.retryNotice(ctx)
			s.icc = map[tlv.Tag][]byte{}
			continue
		}
		return err
	}
}

func (s *session) retryNotice(ctx context.Context) {
	if s.ch != nil {
		s.ch.Notify(ctx, NoticeTryAgain)
	}
}

// finalSelect selects the chosen application and keeps its FCI. ok is
// false when the application cannot be used and the next one should be
// tried; a blocked card (6A81) ends the transaction with ErrCardBlocked.
func (s *session) finalSelect(ctx context.Context, c candidate) (bool, error) {
	r, err := s.transmit(ctx, "SELECT", apdu.Select(c.adf, false))
	if err != nil {
		return false, err
	}
	if r.SW == apdu.SWCardBlocked {
		// EMV Book 1, final selection: the card is blocked; terminate,
		// try no other application.
		return false, fmt.Errorf("emv: final SELECT: %w", ErrCardBlocked)
	}
	if r.SW != apdu.SWOK {
		return false, nil
	}
	fci, err := tlv.ParseOne(r.Data)
	if err != nil || fci.Tag != 0x6F {
		return false, nil
	}
	df, ok := tlv.Find(fci.Children, 0x84)
	if !ok || !bytes.Equal(df.Value, c.adf) {
		return false, nil
	}
	if _, ok := tlv.Find(fci.Children, 0xA5); !ok {
		return false, nil
	}
	s.icc = map[tlv.Tag][]byte{}
	for _, o := range primitives(fci.Children) {
		s.icc[o.Tag] = clone(o.Value)
	}
	s.aid = c.cfg
	s.adf = clone(c.adf)
	s.term[0x9F06] = clone(c.cfg.AID)
	s.term[0x9F09] = clone(c.cfg.Versions[0][:])
	fl := c.cfg.FloorLimit
	if s.iface == hal.Contactless {
		fl = c.cfg.Contactless.FloorLimit
	}
	s.term[0x9F1B] = be32(uint32(fl))
	s.k.log.Debug("emv: selected", "aid", fmt.Sprintf("%X", c.adf), "kind", c.cfg.Kind.String())
	return true, nil
}
