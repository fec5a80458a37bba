package emv

import (
	"context"
	"errors"
	"fmt"

	"kpos/firmware/emv/selection"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// selector is application selection on the session's card.
func (s *session) selector() *selection.Selector {
	return &selection.Selector{Send: s.transmit, AIDs: s.k.cfg.AIDs, Contactless: s.iface == hal.Contactless}
}

// buildCandidates runs the directory method (PSE for contact, PPSE for
// contactless) and, for contact cards, falls back to the list of AIDs.
func (s *session) buildCandidates(ctx context.Context) ([]selection.Candidate, error) {
	sel := s.selector()
	if s.iface == hal.Contactless {
		return sel.PPSE(ctx)
	}
	cands, usePSE, err := sel.PSE(ctx)
	if err == nil && !(usePSE && len(cands) > 0) {
		cands, err = sel.AIDList(ctx)
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

// choose picks a candidate: by priority, asking the cardholder when there
// are several or the card wants confirmation (bit 8 of tag 87), never for
// contactless.
func (s *session) choose(ctx context.Context, cands []selection.Candidate) (int, error) {
	selection.Order(cands)
	if s.iface == hal.Contactless || s.ch == nil {
		return 0, nil
	}
	confirm := cands[0].Priority&0x80 != 0 && !cands[0].AID.ConfirmationNone
	if len(cands) == 1 && !confirm {
		return 0, nil
	}
	apps := make([]Candidate, len(cands))
	for i, c := range cands {
		label := c.Label
		if label == "" {
			label = c.AID.Label
		}
		apps[i] = Candidate{AID: clone(c.ADF), Label: label, Priority: int(c.Priority & 0x0F)}
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
// tried.
func (s *session) finalSelect(ctx context.Context, c selection.Candidate) (bool, error) {
	fci, ok, err := s.selector().Final(ctx, c)
	if err != nil || !ok {
		return false, err
	}
	s.icc = map[tlv.Tag][]byte{}
	for _, o := range tlv.Primitives(fci) {
		s.icc[o.Tag] = clone(o.Value)
	}
	s.aid = c.AID
	s.adf = clone(c.ADF)
	s.term[0x9F06] = clone(c.AID.AID)
	s.term[0x9F09] = clone(c.AID.Versions[0][:])
	fl := c.AID.FloorLimit
	if s.iface == hal.Contactless {
		fl = c.AID.Contactless.FloorLimit
	}
	s.term[0x9F1B] = be32(uint32(fl))
	s.k.log.Debug("emv: selected", "aid", fmt.Sprintf("%X", c.ADF), "kind", c.AID.Kind.String())
	return true, nil
}
