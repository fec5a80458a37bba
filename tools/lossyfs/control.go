package lossyfs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The control protocol: one JSON request per line, one JSON answer per
// line, on a unix socket.
//
//	{"op":"cut","cut":{"mode":"prefix","seed":7}}  → {"report":{…}}
//	{"op":"remount"}                                → {}
//	{"op":"pending"}                                → {"pending":12}
//	{"op":"quit"}                                   → {} and the mount goes
type request struct {
	Op  string `json:"op"`
	Cut Cut    `json:"cut,omitzero"`
}

type answer struct {
	Report  *Report `json:"report,omitempty"`
	Pending int     `json:"pending,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Serve answers control requests on ln for m until ctx ends or a quit.
func Serve(ctx context.Context, ln net.Listener, m *Mount) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			if serveConn(c, m) {
				cancel()
			}
		}()
	}
}

// serveConn answers one connection; it reports a quit.
func serveConn(c net.Conn, m *Mount) bool {
	defer c.Close()
	sc := bufio.NewScanner(c)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req request
		var ans answer
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			ans.Error = err.Error()
			enc.Encode(ans)
			continue
		}
		switch req.Op {
		case "cut":
			rep, err := m.Cut(req.Cut)
			ans.Report = &rep
			if err != nil {
				ans.Error = err.Error()
			}
		case "remount":
			if err := m.Remount(); err != nil {
				ans.Error = err.Error()
			}
		case "pending":
			ans.Pending = m.Layer().Pending()
		case "quit":
			enc.Encode(ans)
			return true
		default:
			ans.Error = fmt.Sprintf("unknown op %q", req.Op)
		}
		if enc.Encode(ans) != nil {
			return false
		}
	}
	return false
}

// Client talks to a lossy filesystem's control socket.
type Client struct {
	c  net.Conn
	sc *bufio.Scanner
}

// Dial connects to the control socket at path, waiting for it to appear
// until ctx ends.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return &Client{c: c, sc: bufio.NewScanner(c)}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lossyfs: control socket: %w", err)
		case <-time.After(20 * time.Millisecond): // the server is still mounting
		}
	}
}

func (c *Client) call(req request) (answer, error) {
	var ans answer
	b, _ := json.Marshal(req)
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return ans, fmt.Errorf("lossyfs: control: %w", err)
	}
	if !c.sc.Scan() {
		err := c.sc.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return ans, fmt.Errorf("lossyfs: control: %w", err)
	}
	if err := json.Unmarshal(c.sc.Bytes(), &ans); err != nil {
		return ans, fmt.Errorf("lossyfs: control: %w", err)
	}
	if ans.Error != "" {
		return ans, errors.New("lossyfs: " + ans.Error)
	}
	return ans, nil
}

// Cut cuts the power.
func (c *Client) Cut(cut Cut) (Report, error) {
	ans, err := c.call(request{Op: "cut", Cut: cut})
	if ans.Report != nil {
		return *ans.Report, err
	}
	return Report{}, err
}

// Remount brings the power back: a fresh mount with nothing pending.
func (c *Client) Remount() error {
	_, err := c.call(request{Op: "remount"})
	return err
}

// Pending reports how many changes are pending.
func (c *Client) Pending() (int, error) {
	ans, err := c.call(request{Op: "pending"})
	return ans.Pending, err
}

// Quit unmounts and ends the server.
func (c *Client) Quit() error {
	_, err := c.call(request{Op: "quit"})
	return err
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

// Main is the lossyfs command: mount, serve the control socket, unmount
// at the end (a quit, SIGINT or SIGTERM).
//
//	lossyfs -backing DIR -mount DIR -control SOCKET [-attic DIR]
func Main(args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("lossyfs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	backing := fl.String("backing", "", "the directory that holds the data")
	point := fl.String("mount", "", "where to mount the lossy view of it")
	control := fl.String("control", "", "unix socket for cuts and remounts")
	attic := fl.String("attic", "", "where removed files wait until their removal is durable (default: beside backing)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *backing == "" || *point == "" || *control == "" {
		fmt.Fprintln(stderr, "usage: lossyfs -backing DIR -mount DIR -control SOCKET [-attic DIR]")
		return 2
	}
	if *attic == "" {
		*attic = *backing + ".attic"
	}
	if err := Available(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := New(*backing, *point, *attic)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	os.Remove(*control)
	ln, err := net.Listen("unix", *control)
	if err != nil {
		m.Unmount()
		fmt.Fprintln(stderr, "lossyfs:", err)
		return 1
	}
	serr := Serve(ctx, ln, m)
	uerr := m.Unmount()
	os.Remove(*control)
	if err := errors.Join(serr, uerr); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
