package sim

import (
	"context"
	"strings"
	"testing"

	"kpos/boards"
	"kpos/hal"
)

func TestSimBoardCardsAndHost(t *testing.T) {
	b, err := boards.Open(context.Background(), "sim", boards.Options{DataDir: t.TempDir(), ParamsDir: "../../testdata"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.DisplaySize.Columns < 16 || b.DisplaySize.Rows < 4 {
		t.Fatalf("the sim board's display %+v", b.DisplaySize)
	}
	s := Of(b)
	if s == nil || !s.HostInProcess() {
		t.Fatalf("the sim board's lab devices %+v", b.Sim)
	}
	if c, m := s.TestPasswords(); c == "" || m == "" {
		t.Fatal("the sim board starts without test passwords")
	}
	names := s.Cards()
	if len(names) < 7 {
		t.Fatalf("test cards %v", names)
	}
	c, err := s.Card("unionpay-debit", hal.Contact)
	if err != nil || c.Interface() != hal.Contact {
		t.Fatal(err)
	}
	resp, err := c.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x00, 0x0E, '1', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1', 0x00})
	if err != nil || len(resp) < 2 || resp[len(resp)-2] != 0x90 {
		t.Fatalf("SELECT PSE: %X %v", resp, err)
	}
	if _, err := s.Card("no-such-card", hal.Contact); err == nil || !strings.Contains(err.Error(), "unionpay-debit") {
		t.Fatalf("an unknown card should list the known ones: %v", err)
	}
	if _, err := s.Card("../../etc/passwd", hal.Contact); err == nil {
		t.Fatal("a path was taken for a card name")
	}
	if tr, err := s.Track("magstripe-only"); err != nil || len(tr.Track2) == 0 {
		t.Fatalf("stripe: %v", err)
	}
	if err := s.Host.Command("fault no-answer"); err != nil {
		t.Fatal(err)
	}
	if err := s.Host.Command("fault teleport"); err == nil {
		t.Fatal("an unknown fault was accepted")
	}
	if n := s.Host.Count("sale", ""); n != 0 {
		t.Fatalf("a new host holds %d sales", n)
	}
}

func TestBlankBoardHasNoIdentity(t *testing.T) {
	b, err := boards.Open(context.Background(), "sim", boards.Options{DataDir: t.TempDir(), ParamsDir: "../../testdata", Blank: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.InitialTMK != nil || b.Identity.TerminalID != "" || b.Serial == "" {
		t.Fatalf("blank board: %+v", b.Identity)
	}
}
