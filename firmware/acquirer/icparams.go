package acquirer

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/moov-io/iso8583"

	"kpos/firmware/emv/tlv"
)

// Network codes of the IC card parameter download, the sequence of the CA
// public key download: the status upload that lists the AIDs (0820, 382),
// one AID's parameters (0800, 380), the end (0800, 381).
const (
	NetICParamQuery    = "382"
	NetICParamDownload = "380"
	NetICParamEnd      = "381"
)

// ICParams are one application's IC card parameters as the CUP download
// carries them: 9F06 AID, DF01 application selection indicator (1: partial
// name allowed), 9F09 version, DF11/DF12/DF13 TAC default, online, denial,
// 9F1B floor limit (binary 4), DF15 random selection threshold (binary 4),
// DF16 maximum and DF17 target percentage, DF14 default DDOL, DF18 online
// PIN supported, DF19 contactless floor limit, DF20 contactless transaction
// limit, DF21 CVM required limit (n 12 each). Amounts in minor units.
type ICParams struct {
	AID                                  []byte
	Partial                              bool
	Version                              []byte
	TACDefault, TACOnline, TACDenial     []byte
	FloorLimit, RandomThreshold          int64
	RandomMax, RandomTarget              int
	DDOL                                 []byte
	OnlinePIN                            bool
	CLFloorLimit, CLTxnLimit, CLCVMLimit int64
}

// TLV is the parameters in the download's form.
func (p ICParams) TLV() []byte {
	b := func(v bool) []byte {
		if v {
			return []byte{1}
		}
		return []byte{0}
	}
	n12 := func(v int64) []byte {
		s := fmt.Sprintf("%012d", min(max(v, 0), 999999999999))
		out := make([]byte, 6)
		for i := range out {
			out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
		}
		return out
	}
	var out []byte
	out = tlv.Append(out, 0x9F06, p.AID)
	out = tlv.Append(out, 0xDF01, b(p.Partial))
	out = tlv.Append(out, 0x9F09, p.Version)
	out = tlv.Append(out, 0xDF11, p.TACDefault)
	out = tlv.Append(out, 0xDF12, p.TACOnline)
	out = tlv.Append(out, 0xDF13, p.TACDenial)
	out = tlv.Append(out, 0x9F1B, binary.BigEndian.AppendUint32(nil, uint32(min(max(p.FloorLimit, 0), 0xFFFFFFFF))))
	out = tlv.Append(out, 0xDF15, binary.BigEndian.AppendUint32(nil, uint32(min(max(p.RandomThreshold, 0), 0xFFFFFFFF))))
	out = tlv.Append(out, 0xDF16, []byte{byte(p.RandomMax)})
	out = tlv.Append(out, 0xDF17, []byte{byte(p.RandomTarget)})
	out = tlv.Append(out, 0xDF14, p.DDOL)
	out = tlv.Append(out, 0xDF18, b(p.OnlinePIN))
	out = tlv.Append(out, 0xDF19, n12(p.CLFloorLimit))
	out = tlv.Append(out, 0xDF20, n12(p.CLTxnLimit))
	out = tlv.Append(out, 0xDF21, n12(p.CLCVMLimit))
	return out
}

// ParseICParams reads one application's parameters. The AID, version and
// the three TACs must be there.
func ParseICParams(raw []byte) (ICParams, error) {
	objs, err := tlv.Parse(raw)
	if err != nil {
		return ICParams{}, fmt.Errorf("%w: IC parameters: %w", ErrNoAnswer, err)
	}
	v := map[tlv.Tag][]byte{}
	for _, o := range objs {
		v[o.Tag] = o.Value
	}
	p := ICParams{AID: v[0x9F06], Version: v[0x9F09], TACDefault: v[0xDF11], TACOnline: v[0xDF12], TACDenial: v[0xDF13], DDOL: v[0xDF14]}
	if len(p.AID) < 5 || len(p.AID) > 16 || len(p.Version) != 2 || len(p.TACDefault) != 5 || len(p.TACOnline) != 5 || len(p.TACDenial) != 5 {
		return ICParams{}, fmt.Errorf("%w: IC parameters lack AID, version or TACs", ErrNoAnswer)
	}
	p.Partial = len(v[0xDF01]) == 1 && v[0xDF01][0] == 1
	p.OnlinePIN = len(v[0xDF18]) == 1 && v[0xDF18][0] == 1
	if x := v[0x9F1B]; len(x) == 4 {
		p.FloorLimit = int64(binary.BigEndian.Uint32(x))
	}
	if x := v[0xDF15]; len(x) == 4 {
		p.RandomThreshold = int64(binary.BigEndian.Uint32(x))
	}
	if x := v[0xDF16]; len(x) == 1 {
		p.RandomMax = int(x[0])
	}
	if x := v[0xDF17]; len(x) == 1 {
		p.RandomTarget = int(x[0])
	}
	for _, f := range []struct {
		tag tlv.Tag
		dst *int64
	}{{0xDF19, &p.CLFloorLimit}, {0xDF20, &p.CLTxnLimit}, {0xDF21, &p.CLCVMLimit}} {
		x, ok := v[f.tag]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(fmt.Sprintf("%X", x), 10, 64)
		if err != nil || len(x) != 6 {
			return ICParams{}, fmt.Errorf("%w: IC parameters: %v is not n 12", ErrNoAnswer, f.tag)
		}
		*f.dst = n
	}
	return p, nil
}

// ICParamStatus runs the IC card parameter status upload (0820, 382) and
// returns the AIDs the host lists (9F06 each).
func (c *Client) ICParamStatus(ctx context.Context, batch uint32) ([][]byte, error) {
	entries, err := c.statusList(ctx, "IC parameter status", NetICParamQuery, 1, batch)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(entries))
	for _, e := range entries {
		if e[0].Tag != 0x9F06 || len(e[0].Value) < 5 || len(e[0].Value) > 16 {
			return nil, fmt.Errorf("%w: IC parameter status holds %v, not AIDs", ErrNoAnswer, e[0].Tag)
		}
		out = append(out, e[0].Value)
	}
	return out, nil
}

// DownloadICParams fetches the IC card parameters of every application the
// host lists in the status upload (0820, 382), one AID at a time (0800,
// 380), hands the complete set to install (when not nil), and then sends
// the end (0800, 381), which tells the host the terminal holds them. The
// status answer names the AIDs only, not their parameters' version, so
// every AID is downloaded each time.
func (c *Client) DownloadICParams(ctx context.Context, batch uint32, install func([]ICParams) error) ([]ICParams, error) {
	aids, err := c.ICParamStatus(ctx, batch)
	if err != nil {
		return nil, err
	}
	var out []ICParams
	for _, aid := range aids {
		raw, err := c.download(ctx, "IC parameter download", NetICParamDownload, tlv.Encode(0x9F06, aid), batch)
		if err != nil {
			return nil, err
		}
		p, err := ParseICParams(raw)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p.AID, aid) {
			return nil, fmt.Errorf("%w: IC parameter download: asked for %X, got %X", ErrNoAnswer, aid, p.AID)
		}
		out = append(out, p)
	}
	if install != nil {
		if err := install(out); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return out, nil // nothing was downloaded: there is nothing to end
	}
	_, _, err = c.management(ctx, "IC parameter download end", func() (*iso8583.Message, error) {
		return c.downloadMessage("0800", batch, NetICParamEnd)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
