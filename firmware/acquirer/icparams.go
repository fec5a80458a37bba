package acquirer

import (
	"bytes"
	"context"
	"fmt"

	"kpos/firmware/acquirer/cupmsg"
)

// ICParams are one application's IC card parameters as the CUP download
// carries them (cupmsg.ICParams).
type ICParams = cupmsg.ICParams

// ParseICParams reads one application's parameters as the host sent them;
// what does not parse wraps ErrNoAnswer.
func ParseICParams(raw []byte) (ICParams, error) {
	p, err := cupmsg.ParseICParams(raw)
	if err != nil {
		return ICParams{}, fmt.Errorf("%w: %w", ErrNoAnswer, err)
	}
	return p, nil
}

// ICParamStatus runs the IC card parameter status upload (0820, 382) and
// returns the AIDs the host lists (9F06 each).
func (c *Client) ICParamStatus(ctx context.Context, batch uint32) ([][]byte, error) {
	entries, err := c.statusList(ctx, "IC parameter status", cupmsg.NetICParamQuery, 1, batch)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(entries))
	for _, e := range entries {
		aid, err := cupmsg.AIDOf(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		out = append(out, aid)
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
		raw, err := c.download(ctx, "IC parameter download", cupmsg.NetICParamDownload, cupmsg.AIDQuery(aid), batch)
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
	if err := c.downloadEnd(ctx, "IC parameter download end", cupmsg.NetICParamEnd, batch); err != nil {
		return nil, err
	}
	return out, nil
}
