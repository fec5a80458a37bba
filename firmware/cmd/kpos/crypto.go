package main

import (
	"bufio"
	"os"
	"strings"
)

// scriptCrypto reads the algorithm switch a scenario asks for: a line
// "# crypto: sm" (or rsa, both) among the comment lines that open the file,
// so `kpos -board sim -script FILE` runs an SM scenario on the SM terminal
// without a flag. -crypto on the command line wins; "" when none is named.
func scriptCrypto(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "" // the script runner reports the unreadable file
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "#") {
			return ""
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), "crypto:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
