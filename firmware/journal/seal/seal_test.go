package seal

import (
	"bytes"
	"path/filepath"
	"testing"

	"kpos/firmware/journal/entry"
)

func TestCardRoundTripBoundToTrace(t *testing.T) {
	aead, err := NewAEAD(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	x := entry.Txn{Trace: 42, Secret: entry.Sensitive{PAN: "6225880000001234", Expiry: "2912", Track2: []byte{1}}}
	if err := Card(aead, &x); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(x.Sealed, []byte("6225880000001234")) {
		t.Fatal("the PAN is in the clear")
	}
	got := entry.Txn{Trace: 42, Sealed: x.Sealed}
	if err := OpenCard(aead, &got); err != nil || got.Secret.PAN != "6225880000001234" || got.Secret.Track2 != nil {
		t.Fatalf("opened %+v, %v", got.Secret, err)
	}
	moved := entry.Txn{Trace: 43, Sealed: x.Sealed}
	if err := OpenCard(aead, &moved); err == nil {
		t.Fatal("a sealed PAN opened under another trace number")
	}
}

func TestSlotKeyErased(t *testing.T) {
	outer, _ := NewAEAD(bytes.Repeat([]byte{9}, 32))
	s, err := OpenSlots(filepath.Join(t.TempDir(), "j.sad"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, err := s.NewKey(outer, 3)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := SealSAD(key, 3, 100, SAD{Track2: []byte{0x62, 0x25}})
	if err != nil {
		t.Fatal(err)
	}
	again, ok, err := s.Key(outer, 3)
	if err != nil || !ok {
		t.Fatalf("key of slot 3: %v %v", ok, err)
	}
	if sad, err := OpenSAD(again, 3, 100, sealed); err != nil || !bytes.Equal(sad.Track2, []byte{0x62, 0x25}) {
		t.Fatalf("opened %+v, %v", sad, err)
	}
	if _, err := OpenSAD(again, 4, 100, sealed); err == nil {
		t.Fatal("SAD opened as another slot's")
	}
	if err := s.Zero([]uint32{3}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Key(outer, 3); ok || err != nil {
		t.Fatalf("an erased slot still gives a key (%v, %v)", ok, err)
	}
	if _, ok, err := s.Key(outer, 50); ok || err != nil {
		t.Fatalf("a slot past the end gives a key (%v, %v)", ok, err)
	}
}
