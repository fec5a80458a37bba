package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kpos/firmware/binding"
	"kpos/firmware/console/service"
)

// consoleParams is the console's `param`: the terminal's parameters as the
// firmware holds them. What the host delivers with the binding, and the
// board's identity, are shown read-only (they change only through the host
// or the board file); the log level is the technician's to set.
type consoleParams struct{ s *consoleServices }

func (p consoleParams) List(ctx context.Context) ([]service.Param, error) {
	b := p.s.a.board
	lvl, err := p.s.logs.Level(ctx)
	if err != nil {
		return nil, err
	}
	out := []service.Param{
		{Name: "log.level", Value: lvl, Description: "firmware log level: debug, info, warn or error"},
		{Name: "terminal.board", Value: b.Name, Description: "board", ReadOnly: true},
		{Name: "terminal.serial", Value: b.Serial, Description: "device serial", ReadOnly: true},
	}
	inst := p.s.a.current()
	if inst == nil || inst.binder == nil {
		id := b.Identity
		return append(out,
			service.Param{Name: "terminal.tid", Value: id.TerminalID, Description: "terminal ID (board file)", ReadOnly: true},
			service.Param{Name: "terminal.mid", Value: id.MerchantID, Description: "merchant ID (board file)", ReadOnly: true}), nil
	}
	r := inst.binder.Record()
	out = append(out,
		service.Param{Name: "terminal.tid", Value: r.TID, Description: "terminal ID (binding)", ReadOnly: true},
		service.Param{Name: "terminal.mid", Value: r.MID, Description: "merchant ID (binding)", ReadOnly: true})
	if r.Params == nil {
		return out, nil
	}
	bp := *r.Params
	host := func(name, value, about string) {
		out = append(out, service.Param{Name: "binding." + name, Value: value, Description: about + " (from the host)", ReadOnly: true})
	}
	host("txn_limit", binding.Yuan(bp.TxnLimit), "largest single sale, CNY")
	host("daily_limit", binding.Yuan(bp.DailyLimit), "largest total of sales per day, CNY")
	host("settlement_time", bp.SettlementTime, "daily settlement, local time")
	host("host_addr", bp.HostAddr, "acquirer host")
	host("apn", bp.APN, "cellular access point")
	methods := make([]string, len(bp.Methods))
	for i, m := range bp.Methods {
		methods[i] = string(m)
	}
	host("methods", strings.Join(methods, ","), "accepted payment methods")
	fees := make([]string, 0, len(bp.FeeBP))
	for m := range bp.FeeBP {
		fees = append(fees, string(m))
	}
	sort.Strings(fees)
	for _, m := range fees {
		host("fee."+m, strconv.Itoa(bp.FeeBP[binding.Method(m)])+" bp", "merchant fee for "+m)
	}
	return out, nil
}

func (p consoleParams) Get(ctx context.Context, name string) (service.Param, error) {
	list, err := p.List(ctx)
	if err != nil {
		return service.Param{}, err
	}
	for _, x := range list {
		if x.Name == name {
			return x, nil
		}
	}
	return service.Param{}, fmt.Errorf("%w: parameter %s", service.ErrNotFound, name)
}

func (p consoleParams) Set(ctx context.Context, name, value string) error {
	cur, err := p.Get(ctx, name)
	if err != nil {
		return err
	}
	if cur.ReadOnly {
		return fmt.Errorf("%w: %s is read-only", service.ErrInvalid, name)
	}
	switch name {
	case "log.level":
		switch value {
		case "debug", "info", "warn", "error":
			return p.s.logs.SetLevel(ctx, value)
		}
		return fmt.Errorf("%w: '%s' is not a level (debug, info, warn, error)", service.ErrInvalid, value)
	}
	return fmt.Errorf("%w: %s cannot be set", service.ErrInvalid, name)
}
