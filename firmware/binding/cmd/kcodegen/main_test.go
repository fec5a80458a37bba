package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestSetUpToDate regenerates testdata/binding/kcodes.json and compares.
func TestTestSetUpToDate(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "testdata", "binding", "kcodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := writeTestSet(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("testdata/binding/kcodes.json is stale: regenerate it with kcodegen -testdata\n%s", got.String())
	}
}

func TestGenerate(t *testing.T) {
	var a, b bytes.Buffer
	if err := generate(&a, "999", 10, 3, "20991231", 42); err != nil {
		t.Fatal(err)
	}
	if err := generate(&b, "999", 10, 3, "20991231", 42); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() || strings.Count(a.String(), "typed: ") != 3 {
		t.Fatalf("seeded output not reproducible or incomplete:\n%s", a.String())
	}
	if err := generate(&a, "999", 10, 1, "2099-12-31", 0); err == nil {
		t.Fatal("bad expiry accepted")
	}
	if err := generate(&a, "9999", 10, 1, "20991231", 0); err == nil {
		t.Fatal("bad bank accepted")
	}
}
