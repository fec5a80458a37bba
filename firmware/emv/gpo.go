package emv

import (
	"context"
	"errors"
	"fmt"
	"io"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/contactless"
	"kpos/firmware/emv/gpo"
	"kpos/firmware/emv/restrict"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// errGPORefused reports 6985 to GPO: the application cannot be used, try
// the next candidate.
var errGPORefused = errors.New("emv: GPO conditions not satisfied")

// AIP bits (byte 1).
const (
	aipSDA        = 0x40
	aipDDA        = 0x20
	aipCVM        = 0x10
	aipTRM        = 0x08
	aipIssuerAuth = 0x04
	aipCDA        = 0x01
)

// contactlessPreprocess applies the contactless limits before GPO and sets
// the TTQ (9F66) for this transaction, Book A 3.1.
func (s *session) contactlessPreprocess() error {
	ttq, err := contactless.TTQ(s.aid.Contactless, s.txn.Amount, s.txn.ForceOnline)
	if err != nil {
		return fmt.Errorf("emv: %w: %w", err, ErrUseContact)
	}
	s.term[0x9F66] = ttq[:]
	return nil
}

// initiate sends GET PROCESSING OPTIONS with the PDOL data and keeps the
// AIP and AFL, Book 3 10.1.
func (s *session) initiate(ctx context.Context) error {
	if s.iface == hal.Contactless {
		if err := s.contactlessPreprocess(); err != nil {
			return err
		}
	}
	un := make([]byte, 4)
	if _, err := io.ReadFull(s.k.rnd, un); err != nil {
		return fmt.Errorf("emv: unpredictable number: %w", err)
	}
	s.term[0x9F37] = un
	var pdol tlv.DOL
	if p, ok := s.icc[0x9F38]; ok {
		var err error
		if pdol, err = tlv.ParseDOL(p); err != nil {
			return fmt.Errorf("emv: PDOL: %w: %w", ErrCardData, err)
		}
	}
	s.pdolData = pdol.Build(s.value)
	s.sent(pdol, s.pdolData)
	r, err := s.transmit(ctx, "GPO", apdu.Command(0x80, 0xA8, 0x00, 0x00, tlv.Encode(0x83, s.pdolData), true))
	if err != nil {
		return err
	}
	switch r.SW {
	case apdu.SWOK:
	case apdu.SWSeePhone:
		if s.iface == hal.Contactless {
			if s.ch != nil {
				s.ch.Notify(ctx, NoticeSeePhone)
			}
			return fmt.Errorf("emv: GPO: %w", ErrSeePhone)
		}
		return apdu.BadSW("GPO", r.SW)
	case apdu.SWConditions:
		if s.iface == hal.Contactless {
			return fmt.Errorf("emv: GPO: SW 6985: %w", ErrUseContact)
		}
		return errGPORefused
	default:
		return apdu.BadSW("GPO", r.SW)
	}
	elems, err := gpo.ParseResponse(r.Data)
	if err != nil {
		return fmt.Errorf("emv: GPO: %w", err)
	}
	for _, o := range elems {
		s.icc[o.Tag] = clone(o.Value)
	}
	aip, ok := s.icc[0x82]
	if !ok || len(aip) != 2 {
		return fmt.Errorf("emv: GPO: %w: AIP missing", ErrCardData)
	}
	copy(s.aip[:], aip)
	s.afl = s.icc[0x94]
	if _, err := gpo.ParseAFL(s.afl); err != nil {
		return fmt.Errorf("emv: %w: %w", ErrCardData, err)
	}
	if len(s.afl) == 0 && s.iface == hal.Contact {
		return fmt.Errorf("emv: GPO: %w: AFL missing", ErrCardData)
	}
	return nil
}

// readRecords reads every record the AFL names and keeps the data for
// ODA, Book 3 10.2.
func (s *session) readRecords(ctx context.Context) error {
	afl, err := gpo.ParseAFL(s.afl)
	if err != nil {
		return fmt.Errorf("emv: %w: %w", ErrCardData, err)
	}
	seen := map[tlv.Tag]bool{}
	for _, e := range afl {
		sfi, first, last, odaN := e.SFI, e.First, e.Last, e.ODA
		for rec := int(first); rec <= int(last); rec++ {
			r, err := s.transmit(ctx, "READ RECORD", apdu.ReadRecord(sfi, byte(rec)))
			if err != nil {
				return err
			}
			if r.SW != apdu.SWOK {
				return apdu.BadSW("READ RECORD", r.SW)
			}
			forODA := rec < int(first)+int(odaN)
			obj, err := tlv.ParseOne(r.Data)
			if err != nil || obj.Tag != 0x70 {
				if sfi <= 10 {
					return fmt.Errorf("emv: record %d/%d: %w: not a 70 template", sfi, rec, ErrCardData)
				}
				if forODA {
					s.oda.recordsBad = true
				}
				continue
			}
			if forODA {
				if sfi <= 10 {
					s.oda.records = append(s.oda.records, obj.Value...)
				} else {
					s.oda.records = append(s.oda.records, r.Data...)
				}
			}
			for _, o := range tlv.Primitives(obj.Children) {
				if seen[o.Tag] {
					return fmt.Errorf("emv: record %d/%d: %w: tag %v twice", sfi, rec, ErrCardData, o.Tag)
				}
				seen[o.Tag] = true
				s.icc[o.Tag] = clone(o.Value)
			}
		}
	}
	return nil
}

// checkMandatory checks the data a contact card must have, Book 3 7.2.
func (s *session) checkMandatory() error {
	for _, t := range []tlv.Tag{0x5F24, 0x5A, 0x8C, 0x8D} {
		if _, ok := s.icc[t]; !ok {
			if t == 0x8D && s.iface == hal.Contactless {
				continue
			}
			return fmt.Errorf("emv: %w: mandatory %s missing", ErrCardData, tlv.Lookup(t).Name)
		}
	}
	if exp := s.icc[0x5F24]; len(exp) != 3 {
		return fmt.Errorf("emv: %w: expiry date format", ErrCardData)
	}
	if _, err := tlv.ParseDOL(s.icc[0x8C]); err != nil {
		return fmt.Errorf("emv: CDOL1: %w: %w", ErrCardData, err)
	}
	return nil
}

// processingRestrictions checks versions, usage control and dates,
// Book 3 10.4.
func (s *session) processingRestrictions() {
	tt := s.k.cfg.Terminal.Type & 0x0F
	bits := restrict.Check(
		restrict.Card{Version: s.present(0x9F08), AUC: s.icc[0x9F07], IssuerCountry: s.present(0x5F28),
			Effective: s.icc[0x5F25], Expiry: s.icc[0x5F24]},
		restrict.Terminal{Versions: s.aid.Versions, Country: s.term[0x9F1A], Today: s.term[0x9A],
			ATM: tt >= 4 && tt <= 6 && s.k.cfg.Terminal.AdditionalCapabilities[0]&0x80 != 0},
		restrict.Txn{Cash: s.txn.Type == Cash, Goods: s.txn.Type == Purchase || s.txn.Type == PreAuth,
			Cashback: s.txn.OtherAmount > 0})
	for _, b := range bits {
		s.tvr.Set(b)
	}
}

// present returns the card's value of t, non-nil (if empty) when the card
// sent t at all.
func (s *session) present(t tlv.Tag) []byte {
	v, ok := s.icc[t]
	if ok && v == nil {
		return []byte{}
	}
	return v
}
