package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"kpos/boards"
	"kpos/firmware/update"
)

// installImage puts a signed image of a newer version in the sim board's
// inactive slot, as the console's update command would.
func installImage(t *testing.T, data string) {
	t.Helper()
	raw, err := os.ReadFile(repoPath(t, "testdata/update/fwsign-test.key"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := update.ParsePrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	img, err := update.Sign(priv, "99.0.0", "sim", []byte("the new firmware"))
	if err != nil {
		t.Fatal(err)
	}
	pubRaw, _ := os.ReadFile(repoPath(t, "testdata/update/fwsign-test.pub"))
	pub, err := update.ParsePublicKey(pubRaw)
	if err != nil {
		t.Fatal(err)
	}
	u, err := update.New(update.Config{SlotDir: filepath.Join(data, "firmware"), PublicKey: pub, CurrentVersion: "0.1.0", Board: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Boot(); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Install(context.Background(), bytes.NewReader(img), update.Options{}); err != nil {
		t.Fatal(err)
	}
}

func firmwareState(t *testing.T, data string) update.State {
	t.Helper()
	pubRaw, _ := os.ReadFile(repoPath(t, "testdata/update/fwsign-test.pub"))
	pub, _ := update.ParsePublicKey(pubRaw)
	u, err := update.New(update.Config{SlotDir: filepath.Join(data, "firmware"), PublicKey: pub, CurrentVersion: "0.1.0", Board: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := u.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// startOnce starts the terminal in its window and lets it go at once (its
// keyboard closes), as a boot that reaches the counter.
func startOnce(t *testing.T, data string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kposBin, append([]string{"-board", "sim", "-data", data}, extra...)...)
	cmd.Dir = repoPath(t, ".")
	cmd.Stdin = bytes.NewReader(nil)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestNewFirmwareConfirmedHealthyAfterABoot(t *testing.T) {
	data := t.TempDir()
	installImage(t, data)
	if st := firmwareState(t, data); !st.Trial || st.Active != update.SlotB {
		t.Fatalf("after install: %+v", st)
	}
	startOnce(t, data)
	if st := firmwareState(t, data); st.Trial || st.Active != update.SlotB || st.Failed != "" {
		t.Fatalf("a healthy boot did not confirm the image: %+v", st)
	}
}

func TestNewFirmwareThatCannotSignOnIsRolledBack(t *testing.T) {
	data := t.TempDir()
	installImage(t, data)
	// No host answers: the new firmware cannot sign on, so it is unhealthy.
	startOnce(t, data, "-host", "127.0.0.1:9")
	if st := firmwareState(t, data); st.Failed == "" {
		t.Fatalf("a failed boot was not recorded: %+v", st)
	}
	startOnce(t, data, "-host", "127.0.0.1:9")
	if st := firmwareState(t, data); st.Trial || st.Active != update.SlotA {
		t.Fatalf("the failed image was not rolled back: %+v", st)
	}
}

// A board takes firmware only signed with the key it names: none named, no
// updater (never a default key); a key named relative to the parameter
// folder, or by its absolute path, is the one images are checked against.
func TestUpdaterUsesOnlyTheBoardsKey(t *testing.T) {
	params := repoPath(t, "testdata")
	cases := []struct {
		name, key string
		wantErr   error
	}{
		{"no key named", "", errNoFirmwareKey},
		{"relative to the parameter folder", "update/fwsign-test.pub", nil},
		{"absolute", filepath.Join(params, "update", "fwsign-test.pub"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &app{board: &boards.Board{Name: "test", DataDir: t.TempDir(), ParamsDir: params, FirmwareKey: c.key}}
			u, err := a.updater()
			if !errors.Is(err, c.wantErr) || (err == nil) != (u != nil) {
				t.Fatalf("updater() = %v, %v; want error %v", u, err, c.wantErr)
			}
		})
	}
	a := &app{board: &boards.Board{Name: "test", DataDir: t.TempDir(), ParamsDir: params, FirmwareKey: "update/missing.pub"}}
	if _, err := a.updater(); err == nil {
		t.Fatal("a named key that is not there gave an updater")
	}
}
