package hostsim

import (
	"fmt"
	"strconv"
	"time"

	"kpos/firmware/acquirer"
)

// FaultKind is a way the host (or the line) misbehaves.
type FaultKind int

// The faults. Except FaultDrop, each is applied after the host has
// processed the request: the money moved, only the answer goes wrong — the
// case a terminal must resolve with a reversal.
const (
	FaultDelay     FaultKind = iota + 1 // answer after Fault.Delay
	FaultDrop                           // close the connection without answering (request not processed)
	FaultNoAnswer                       // process, then keep the connection open and never answer
	FaultBadMAC                         // process, answer with a wrong field 64
	FaultGarbage                        // process, answer with bytes that are no frame
	FaultWrongSTAN                      // process, answer with another trace number
	FaultDropAfter                      // process, then close the connection without answering
)

var faultNames = map[FaultKind]string{
	FaultDelay: "delay", FaultDrop: "drop", FaultNoAnswer: "no-answer", FaultBadMAC: "bad-mac",
	FaultGarbage: "garbage", FaultWrongSTAN: "wrong-stan", FaultDropAfter: "drop-after",
}

// String returns the fault's name as the control interface takes it.
func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// ParseFaultKind reads a fault name as String writes it.
func ParseFaultKind(s string) (FaultKind, error) {
	for k, n := range faultNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("hostsim: unknown fault %q", s)
}

// Fault is one injected misbehaviour.
type Fault struct {
	Kind  FaultKind
	Delay time.Duration // FaultDelay: how long to wait before answering
	// MTI limits the fault to requests of that type ("0200"); empty: any.
	MTI string
	// Sticky faults stay until ClearFaults; others apply once.
	Sticky bool
}

// String describes the fault for logs and the control interface.
func (f Fault) String() string {
	s := f.Kind.String()
	if f.Kind == FaultDelay {
		s += " " + f.Delay.String()
	}
	if f.MTI != "" {
		s += " mti=" + f.MTI
	}
	if f.Sticky {
		s += " sticky"
	}
	return s
}

// InjectFault queues a fault for the next matching request (or every one,
// when sticky).
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// ClearFaults removes every queued and sticky fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Faults returns the faults still queued.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault(nil), s.faults...)
}

// takeFault returns the first fault matching mti, consuming it unless sticky.
func (s *Server) takeFault(mti string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.MTI != "" && f.MTI != mti {
			continue
		}
		if !f.Sticky {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f, true
	}
	return Fault{}, false
}

type deliveryKind int

const (
	deliverNormal deliveryKind = iota
	deliverSilent
	deliverDrop
)

type delivery struct {
	kind  deliveryKind
	delay time.Duration
}

// applyFault turns a processed answer into the faulty one.
func (s *Server) applyFault(f Fault, fr acquirer.Frame, hdr acquirer.Header, ans *answer, tk *termState) ([]byte, delivery) {
	s.log.Info("hostsim: fault", "fault", f.String())
	s.record(Record{Type: "fault", Note: f.String()})
	reply := fr.TPDU.Reply()
	switch f.Kind {
	case FaultDrop, FaultDropAfter:
		return nil, delivery{kind: deliverDrop}
	case FaultNoAnswer:
		return nil, delivery{kind: deliverSilent}
	case FaultGarbage:
		junk, err := s.random(40)
		if err != nil {
			return nil, delivery{kind: deliverDrop}
		}
		junk[0], junk[1] = 0x00, 0x26 // a plausible length, then noise
		return junk, delivery{}
	case FaultWrongSTAN:
		stan, _ := ans.msg.GetString(11)
		n, _ := strconv.Atoi(stan)
		if err := ans.msg.Field(11, fmt.Sprintf("%06d", (n%999999)+1)); err != nil {
			return nil, delivery{kind: deliverDrop}
		}
	}
	body, err := s.pack(ans, tk)
	if err != nil {
		return nil, delivery{kind: deliverDrop}
	}
	if f.Kind == FaultBadMAC && len(body) >= acquirer.MACLen {
		body[len(body)-1] ^= 0x01 // field 64 is the last 8 bytes
	}
	d := delivery{}
	if f.Kind == FaultDelay {
		d.delay = f.Delay
	}
	return frameBytes(acquirer.Frame{TPDU: reply, Header: hdr, Body: body}), d
}
