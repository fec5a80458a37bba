package boards

import "testing"

// ParseCrypto reads board files and the command line: it accepts only the
// documented modes and link algorithms, and an SM mode always has an SM4
// link, an RSA mode a 3DES one.
func FuzzParseCrypto(f *testing.F) {
	for _, m := range []string{"", "rsa", "sm", "both", "SM"} {
		for _, l := range []string{"", "3DES", "SM4", "sm4"} {
			f.Add(m, l)
		}
	}
	f.Fuzz(func(t *testing.T, mode, link string) {
		c, err := ParseCrypto(mode, link)
		if err != nil {
			return
		}
		switch {
		case c.Mode == "sm" && c.Link != "SM4", c.Mode == "rsa" && c.Link != "3DES":
			t.Fatalf("%q %q gave %+v", mode, link, c)
		case c.Mode != "rsa" && c.Mode != "sm" && c.Mode != "both":
			t.Fatalf("mode %q", c.Mode)
		case c.Link != "3DES" && c.Link != "SM4":
			t.Fatalf("link %q", c.Link)
		}
	})
}

func TestParseCrypto(t *testing.T) {
	for _, c := range []struct {
		mode, link string
		want       Crypto
		bad        bool
	}{
		{"", "", Crypto{"both", "3DES"}, false},
		{"both", "SM4", Crypto{"both", "SM4"}, false},
		{"sm", "3DES", Crypto{"sm", "SM4"}, false},
		{"rsa", "SM4", Crypto{"rsa", "3DES"}, false},
		{"gm", "", Crypto{}, true},
		{"both", "AES", Crypto{}, true},
	} {
		got, err := ParseCrypto(c.mode, c.link)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParseCrypto(%q, %q) = %+v, %v", c.mode, c.link, got, err)
		}
	}
}
