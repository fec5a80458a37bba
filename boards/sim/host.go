package sim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"kpos/boards"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/qr"
	"kpos/hal/fake"
	"kpos/tools/hostsim"
)

// inProcessHost is the host simulator running inside the terminal's process,
// reached through in-memory pipes.
type inProcessHost struct {
	cfg    hostsim.Config // how a standby host is started on "failover"
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	srv     *hostsim.Server
	keypad  *fake.Keypad  // where "otp" types the SMS code
	display *fake.Display // where "pay-qr" finds the merchant code
}

// AttachDevices gives the host's controls the board's keypad and display:
// "otp" types the one-time code on the keypad as the merchant who read the
// SMS would, "pay-qr" reads the code on the display as the customer's
// wallet would.
func (h *inProcessHost) AttachDevices(k *fake.Keypad, d *fake.Display) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keypad, h.display = k, d
}

func startHost(ctx context.Context, opt boards.Options, now func() time.Time) (*inProcessHost, error) {
	cfg := hostsim.Config{DataDir: filepath.Join(opt.ParamsDir, "host"), Logger: opt.Logger.With("component", "hostsim"), Now: now}
	// The CA public keys the host distributes at sign-on (docs/hostsim.md).
	ca, err := hostsim.LoadCAKeys(filepath.Join(cfg.DataDir, "capk.toml"))
	if err != nil {
		return nil, fmt.Errorf("sim: host simulator: %w", err)
	}
	cfg.CAKeys = ca
	// The IC card parameters it distributes: those the terminal is
	// personalised with, until a test changes one ("host aid").
	emvCfg, err := emvconfig.LoadConfig(filepath.Join(opt.ParamsDir, "emv", "terminal.toml"))
	if err != nil {
		return nil, fmt.Errorf("sim: host simulator: %w", err)
	}
	cfg.ICParams = hostsim.ICParamsOf(emvCfg)
	srv, err := hostsim.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("sim: host simulator: %w", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	return &inProcessHost{cfg: cfg, srv: srv, ctx: hctx, cancel: cancel}, nil
}

// server is the host answering now (a standby after "failover").
func (h *inProcessHost) server() *hostsim.Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.srv
}

// failover puts a standby host in place of the running one: it knows the
// terminals, cards and keys of the data directory but none of the working
// keys, authorizations or records of the host it replaces. The terminal
// must sign on to it, and its next settlement disagrees with the standby's
// empty books, so the terminal uploads its batch.
func (h *inProcessHost) failover() error {
	srv, err := hostsim.New(h.cfg)
	if err != nil {
		return fmt.Errorf("sim: host failover: %w", err)
	}
	h.mu.Lock()
	h.srv = srv
	h.mu.Unlock()
	return nil
}

// Pipe returns the terminal's end of a fresh connection to the host.
func (h *inProcessHost) Pipe(ctx context.Context) (net.Conn, error) {
	if err := h.ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim: host simulator stopped: %w", err)
	}
	term, host := net.Pipe()
	go h.server().ServeConn(h.ctx, host)
	return term, nil
}

func (h *inProcessHost) Close() error {
	h.cancel()
	return nil
}

// Count counts the host's records: kind is a record type ("reversal",
// "settlement", …) or a kind of authorization ("sale", "refund", …); state
// "approved" means answered 00, "declined" any other answer, "applied" that
// money moved; a settlement is "balanced" or "unbalanced"; "reason=CODE" a
// reversal sent with reason CODE in field 39.
func (h *inProcessHost) Count(kind, state string) int {
	return countRecords(h.server().Records(), kind, state)
}

// Records returns the host's records, oldest first.
func (h *inProcessHost) Records() []hostsim.Record { return h.server().Records() }

func countRecords(recs []hostsim.Record, kind, state string) int {
	n := 0
	for _, r := range recs {
		if r.Type == "fault" {
			continue
		}
		if r.Type != kind && !(r.Type == "authorization" && r.Kind == kind) {
			continue
		}
		switch state {
		case "balanced", "unbalanced":
			// An answered settlement whose totals the host found equal
			// to its own to the cent, or not.
			if r.Code != "00" || r.Balanced != (state == "balanced") {
				continue
			}
		case "approved":
			if r.Code != "00" {
				continue
			}
		case "applied":
			// Money moved (a reversal that undid its original, a
			// sale that was booked), whatever reached the terminal.
			if !r.Applied {
				continue
			}
		case "declined":
			if r.Code == "00" || r.Code == "" {
				continue
			}
		case "":
		default:
			// "reason=CODE": a reversal whose field 39 is CODE.
			if code, ok := strings.CutPrefix(state, "reason="); !ok || r.Reason != code {
				continue
			}
		}
		n++
	}
	return n
}

// Command understands "fault KIND [DURATION] [sticky] [mti=0200]",
// "fault clear", "otp [SERIAL]" (type the one-time code of the activation
// in progress on the keypad), "pay-qr [PAYLOAD]" (the customer pays the
// merchant code on the display, or the one given) and "revoke [SERIAL]"
// (the bank revokes the terminal's K code) and "failover" (a standby host
// without the day's records takes over). SERIAL is the sim board's by
// default.
func (h *inProcessHost) Command(cmd string) error {
	words := strings.Fields(cmd)
	if len(words) > 0 {
		switch words[0] {
		case "otp":
			return h.typeOTP(serialArg(words))
		case "pay-qr":
			return h.payQR(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cmd), "pay-qr")))
		case "failover":
			return h.failover()
		case "capk":
			return h.capk(words[1:])
		case "aid":
			return h.aid(words[1:])
		case "revoke":
			serial := serialArg(words)
			if !h.server().Revoke(serial) {
				return fmt.Errorf("sim: host revoke: no terminal with serial %q", serial)
			}
			return nil
		}
	}
	f, clear, err := parseFaultCommand(cmd)
	if err != nil {
		return err
	}
	if clear {
		h.server().ClearFaults()
		return nil
	}
	h.server().InjectFault(f)
	return nil
}

// capk changes the CA keys the host distributes: "remove RID INDEX", or
// "add FILE" (a [[capk]] TOML file under the parameters directory). The
// host flags every terminal's next answer to download them again.
func (h *inProcessHost) capk(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "remove":
		if !h.server().RemoveCAKey(args[1], args[2]) {
			return fmt.Errorf("sim: host capk: no key %s/%s", args[1], args[2])
		}
		return nil
	case len(args) == 2 && args[0] == "add":
		keys, err := hostsim.LoadCAKeys(filepath.Join(filepath.Dir(h.cfg.DataDir), filepath.Clean("/"+args[1])))
		if err != nil {
			return err
		}
		for _, k := range keys {
			h.server().ReplaceCAKey(k)
		}
		return nil
	}
	return fmt.Errorf("sim: host capk: want \"remove RID INDEX\" or \"add FILE\"")
}

// aid changes the IC card parameters the host distributes for one AID:
// "aid A000000333010101 cl_floor_limit=50000" (also floor_limit,
// cl_txn_limit, cl_cvm_limit; minor units). The host flags every terminal's
// next answer to download them again.
func (h *inProcessHost) aid(args []string) error {
	if len(args) < 2 {
		return errors.New(`sim: host aid: want "aid AID NAME=VALUE…"`)
	}
	aid, err := hex.DecodeString(args[0])
	if err != nil {
		return fmt.Errorf("sim: host aid: %q is not an AID", args[0])
	}
	p, ok := h.server().ICParams(aid)
	if !ok {
		return fmt.Errorf("sim: host aid: the host has no parameters for %s", args[0])
	}
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("sim: host aid: %q is not NAME=amount", kv)
		}
		switch k {
		case "floor_limit":
			p.FloorLimit = n
		case "cl_floor_limit":
			p.CLFloorLimit = n
		case "cl_txn_limit":
			p.CLTxnLimit = n
		case "cl_cvm_limit":
			p.CLCVMLimit = n
		default:
			return fmt.Errorf("sim: host aid: unknown parameter %q", k)
		}
	}
	h.server().SetICParams(p)
	return nil
}

func serialArg(words []string) string {
	if len(words) > 1 {
		return words[1]
	}
	return testSerial
}

// typeOTP types the one-time code the host "sent by SMS".
func (h *inProcessHost) typeOTP(serial string) error {
	otp, ok := h.server().LastOTP(serial)
	if !ok {
		return fmt.Errorf("sim: host otp: no activation in progress for serial %q", serial)
	}
	h.mu.Lock()
	k := h.keypad
	h.mu.Unlock()
	if k == nil {
		return errors.New("sim: host otp: no keypad attached to type the code on")
	}
	k.Type(otp)
	return nil
}

// orderURL is where the host simulator's merchant-presented orders live;
// the terminal's EMVCo code carries the order reference as its bill number.
const orderURL = "https://qr.kpos.test/pay/"

// payQR pays payload, or the merchant code on the display.
func (h *inProcessHost) payQR(payload string) error {
	if payload == "" {
		h.mu.Lock()
		d := h.display
		h.mu.Unlock()
		if d == nil {
			return errors.New("sim: host pay-qr: no display attached to scan, and no payload given")
		}
		hist := d.History()
		for i := len(hist) - 1; i >= 0 && payload == ""; i-- {
			payload = hist[i].QR
		}
		if payload == "" {
			return errors.New("sim: host pay-qr: no QR code on the display")
		}
	}
	if h.server().PayQR(payload) {
		return nil
	}
	if m, err := qr.ParseMPM(payload); err == nil && m.Additional != nil && m.Additional.Bill != "" {
		if h.server().PayQR(orderURL + m.Additional.Bill) {
			return nil
		}
	}
	return errors.New("sim: host pay-qr: no open order for that code")
}

func parseFaultCommand(cmd string) (hostsim.Fault, bool, error) {
	words := strings.Fields(cmd)
	if len(words) < 2 || words[0] != "fault" {
		return hostsim.Fault{}, false, fmt.Errorf("sim: host command %q: want 'fault KIND [DURATION] [sticky] [mti=NNNN]' or 'fault clear'", cmd)
	}
	if words[1] == "clear" {
		return hostsim.Fault{}, true, nil
	}
	kind, err := hostsim.ParseFaultKind(words[1])
	if err != nil {
		return hostsim.Fault{}, false, err
	}
	f := hostsim.Fault{Kind: kind}
	for _, w := range words[2:] {
		switch {
		case w == "sticky":
			f.Sticky = true
		case strings.HasPrefix(w, "mti="):
			f.MTI = strings.TrimPrefix(w, "mti=")
		default:
			d, err := time.ParseDuration(w)
			if err != nil {
				return hostsim.Fault{}, false, fmt.Errorf("sim: fault %s: bad argument %q", words[1], w)
			}
			f.Delay = d
		}
	}
	return f, false, nil
}
