package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"kpos/hal"
)

// Redact masks what must never leave the terminal in the clear: a run of 13
// to 19 digits that passes the Luhn check (a PAN) keeps its first six and
// last four digits, and a run of 32 or more hexadecimal characters (key
// material, a PIN block, a cryptogram) is replaced entirely. Everything the
// console prints or audits passes through Redact as a last line of defence;
// the services are expected to hand over masked values in the first place.
func Redact(s string) string {
	if !needsRedaction(s) {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		if !isHex(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		run := s[i:j]
		switch {
		case len(run) >= 32:
			b.WriteString("[redacted]")
		default:
			b.WriteString(redactDigits(run))
		}
		i = j
	}
	return b.String()
}

func needsRedaction(s string) bool {
	hex, digits := 0, 0
	for i := 0; i < len(s); i++ {
		if isHex(s[i]) {
			hex++
			if hex >= 32 {
				return true
			}
		} else {
			hex = 0
		}
		if s[i] >= '0' && s[i] <= '9' {
			digits++
			if digits >= 13 {
				return true
			}
		} else {
			digits = 0
		}
	}
	return false
}

// redactDigits masks the Luhn-valid 13..19 digit runs inside a short hex run.
func redactDigits(run string) string {
	var b strings.Builder
	i := 0
	for i < len(run) {
		if run[i] < '0' || run[i] > '9' {
			b.WriteByte(run[i])
			i++
			continue
		}
		j := i
		for j < len(run) && run[j] >= '0' && run[j] <= '9' {
			j++
		}
		d := run[i:j]
		if len(d) >= 13 && len(d) <= 19 && hal.LuhnValid(d) {
			b.WriteString(d[:6] + strings.Repeat("*", len(d)-10) + d[len(d)-4:])
		} else {
			b.WriteString(d)
		}
		i = j
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// RedactJSON encodes v with every string (keys included) redacted, and any
// number that reads as a PAN turned into its masked string, so that the
// redactor never has to cut through JSON syntax.
func RedactJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("console: encoding output: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("console: encoding output: %w", err)
	}
	return json.MarshalIndent(redactTree(tree), "", "  ")
}

func redactTree(v any) any {
	switch x := v.(type) {
	case string:
		return Redact(x)
	case json.Number:
		if r := Redact(x.String()); r != x.String() {
			return r
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactTree(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[Redact(k)] = redactTree(e)
		}
		return out
	}
	return v
}
