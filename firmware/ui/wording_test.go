package ui

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The words at the counter, checked in every source file of the firmware:
// "please wait" is 请稍候 (请稍后 is "later", right only before what is to
// be done later: 请稍后再试), and a reprinted slip says 重打印. Tests, which
// name the wrong words to refuse them, are not checked.
func TestWording(t *testing.T) {
	wrong := []struct {
		re  *regexp.Regexp
		fix string
	}{
		{regexp.MustCompile(`请稍后(?:["，。, ]|$)`), "请稍候 (please wait)"},
		{regexp.MustCompile(`重印`), "重打印"},
	}
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range wrong {
				if w.re.MatchString(line) {
					t.Errorf("%s:%d: %q: say %s", path, i+1, strings.TrimSpace(line), w.fix)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
