package command

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax reports a command line that cannot be split into words.
var ErrSyntax = errors.New("console: syntax error")

// ParseLine splits a command line into words the way a small shell would:
// words are separated by spaces or tabs; 'single quotes' keep everything
// literally; "double quotes" keep spaces and honour \" and \\; outside
// quotes a backslash escapes the next character. Quotes may join parts of
// one word (ab"c d"e is one word). An unterminated quote or a trailing
// backslash is an error wrapping ErrSyntax. A # at the start of a word
// begins a comment.
func ParseLine(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words, nil
		case c == '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("%w: backslash at end of line", ErrSyntax)
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated ' quote at column %d", ErrSyntax, i+1)
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			closed := false
			for ; j < len(line); j++ {
				if line[j] == '\\' && j+1 < len(line) && (line[j+1] == '"' || line[j+1] == '\\') {
					j++
					cur.WriteByte(line[j])
					continue
				}
				if line[j] == '"' {
					closed = true
					break
				}
				cur.WriteByte(line[j])
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated \" quote at column %d", ErrSyntax, i+1)
			}
			i = j
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Quote returns word in a form ParseLine reads back as that one word.
func Quote(word string) string {
	if word == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c <= ' ' || c == '\'' || c == '"' || c == '\\' || c == '#' || c >= 0x7f {
			safe = false
			break
		}
	}
	if safe {
		return word
	}
	return "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
}
