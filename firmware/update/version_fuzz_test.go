package update

import "testing"

// FuzzParseVersion: versions come from image headers and the state file.
// No text may panic; a version that parses prints back as itself and
// compares equal to itself.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.4.2", "2.0.0-rc.1", "1.0.0+sim", "01.2.3", "1.2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if v.String() != s || v.Compare(v) != 0 {
			t.Fatalf("%q parses as %s", s, v)
		}
	})
}
