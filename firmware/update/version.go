package update

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrVersion reports a firmware version that is not semantic versioning.
var ErrVersion = errors.New("update: bad firmware version")

// Version is a parsed semantic version (major.minor.patch, optional
// pre-release, optional build metadata which does not take part in ordering).
type Version struct {
	Major, Minor, Patch uint64
	Pre                 []string
	Build               string
}

// ParseVersion parses "1.4.2", "v1.4.2", "2.0.0-rc.1" or "1.0.0+sim".
func ParseVersion(s string) (Version, error) {
	orig := s
	s = strings.TrimPrefix(s, "v")
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("%w %q: %s", ErrVersion, orig, why)
	}
	if s == "" || len(s) > 64 {
		return bad("empty or longer than 64 characters")
	}
	var v Version
	if i := strings.IndexByte(s, '+'); i >= 0 {
		v.Build = s[i+1:]
		s = s[:i]
		if v.Build == "" || !identChars(v.Build, true) {
			return bad("bad build metadata")
		}
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre := s[i+1:]
		s = s[:i]
		if pre == "" {
			return bad("empty pre-release")
		}
		for _, id := range strings.Split(pre, ".") {
			if id == "" || !identChars(id, false) {
				return bad("bad pre-release identifier")
			}
			if isNum(id) && len(id) > 1 && id[0] == '0' {
				return bad("numeric pre-release identifier with a leading zero")
			}
			v.Pre = append(v.Pre, id)
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return bad("want major.minor.patch")
	}
	nums := []*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if !isNum(p) || len(p) > 1 && p[0] == '0' {
			return bad("version numbers must be decimal without leading zeros")
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return bad("version number out of range")
		}
		*nums[i] = n
	}
	return v, nil
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func identChars(s string, dots bool) bool {
	for _, c := range []byte(s) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || dots && c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Compare orders versions by semantic versioning precedence: -1 if v < w, 0
// if equal, +1 if v > w.
func (v Version) Compare(w Version) int {
	for _, p := range [][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.Pre) == 0 && len(w.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(w.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(w.Pre); i++ {
		a, b := v.Pre[i], w.Pre[i]
		if a == b {
			continue
		}
		an, bn := isNum(a), isNum(b)
		switch {
		case an && bn:
			if len(a) != len(b) {
				return cmpInt(len(a), len(b))
			}
			return strings.Compare(a, b)
		case an:
			return -1
		case bn:
			return 1
		}
		return strings.Compare(a, b)
	}
	return cmpInt(len(v.Pre), len(w.Pre))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String formats the version without a leading "v".
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}
