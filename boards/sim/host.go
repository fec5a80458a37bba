package sim

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"kpos/boards"
	"kpos/tools/hostsim"
)

// inProcessHost is the host simulator running inside the terminal's process,
// reached through in-memory pipes.
type inProcessHost struct {
	srv    *hostsim.Server
	ctx    context.Context
	cancel context.CancelFunc
}

func startHost(ctx context.Context, opt boards.Options) (*inProcessHost, error) {
	srv, err := hostsim.New(hostsim.Config{DataDir: filepath.Join(opt.ParamsDir, "host"), Logger: opt.Logger.With("component", "hostsim")})
	if err != nil {
		return nil, fmt.Errorf("sim: host simulator: %w", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	return &inProcessHost{srv: srv, ctx: hctx, cancel: cancel}, nil
}

// Pipe returns the terminal's end of a fresh connection to the host.
func (h *inProcessHost) Pipe(ctx context.Context) (net.Conn, error) {
	if err := h.ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim: host simulator stopped: %w", err)
	}
	term, host := net.Pipe()
	go h.srv.ServeConn(h.ctx, host)
	return term, nil
}

func (h *inProcessHost) Close() error {
	h.cancel()
	return nil
}

// Count counts the host's records: kind is a record type ("reversal",
// "settlement", …) or a kind of authorization ("sale", "refund", …); state
// "approved" means answered 00, "declined" any other answer.
func (h *inProcessHost) Count(kind, state string) int {
	return countRecords(h.srv.Records(), kind, state)
}

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
		case "approved":
			if r.Code != "00" {
				continue
			}
		case "declined":
			if r.Code == "00" || r.Code == "" {
				continue
			}
		case "":
		default:
			continue
		}
		n++
	}
	return n
}

// Command understands "fault KIND [DURATION] [sticky] [mti=0200]" and
// "fault clear".
func (h *inProcessHost) Command(cmd string) error {
	f, clear, err := parseFaultCommand(cmd)
	if err != nil {
		return err
	}
	if clear {
		h.srv.ClearFaults()
		return nil
	}
	h.srv.InjectFault(f)
	return nil
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
