package service

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrBackupIntegrity reports a backup whose header, length or digest does
// not match its content. Nothing is restored from it.
var ErrBackupIntegrity = errors.New("console: backup integrity check failed")

// A backup file is a short text header and the payload the BackupTarget
// exported:
//
//	KPOS-BACKUP 1
//	length: 12345
//	sha256: <base64 of the SHA-256 of the payload>
//	<empty line>
//	<payload: exactly length bytes, nothing after it>
//
// Over the console the whole file travels as base64 lines between
// BeginArmor and EndArmor.
const (
	BeginArmor = "-----BEGIN KPOS BACKUP-----" // the first armored line
	EndArmor   = "-----END KPOS BACKUP-----"   // the last armored line
)

const (
	backupMagic = "KPOS-BACKUP 1"
	armorWidth  = 64
)

// sealBackup wraps payload in the integrity header.
func sealBackup(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nlength: %d\nsha256: %s\n\n", backupMagic, len(payload), base64.StdEncoding.EncodeToString(sum[:]))
	b.Write(payload)
	return b.Bytes()
}

// openBackup checks the header, the length and the digest and returns the
// payload. limit bounds the payload size.
func openBackup(data []byte, limit int64) ([]byte, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("%w: header cut short", ErrBackupIntegrity)
		}
		return strings.TrimSuffix(s, "\n"), nil
	}
	magic, err := line()
	if err != nil {
		return nil, err
	}
	if magic != backupMagic {
		return nil, fmt.Errorf("%w: not a kpos backup", ErrBackupIntegrity)
	}
	lenLine, err := line()
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(lenLine, "length: "), 10, 64)
	if !strings.HasPrefix(lenLine, "length: ") || err != nil || n < 0 {
		return nil, fmt.Errorf("%w: bad length line", ErrBackupIntegrity)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBackupIntegrity, n, limit)
	}
	sumLine, err := line()
	if err != nil {
		return nil, err
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sumLine, "sha256: "))
	if !strings.HasPrefix(sumLine, "sha256: ") || err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: bad sha256 line", ErrBackupIntegrity)
	}
	if blank, err := line(); err != nil || blank != "" {
		return nil, fmt.Errorf("%w: header not terminated", ErrBackupIntegrity)
	}
	payload, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("console: reading backup: %w", err)
	}
	if int64(len(payload)) != n {
		return nil, fmt.Errorf("%w: %d payload bytes, header says %d", ErrBackupIntegrity, len(payload), n)
	}
	got := sha256.Sum256(payload)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return nil, fmt.Errorf("%w: digest mismatch", ErrBackupIntegrity)
	}
	return payload, nil
}

// armor encodes a sealed backup as base64 lines for a serial console.
func armor(sealed []byte) string {
	enc := base64.StdEncoding.EncodeToString(sealed)
	var b strings.Builder
	b.WriteString(BeginArmor + "\n")
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
	b.WriteString(EndArmor + "\n")
	return b.String()
}

// dearmor decodes base64 lines collected between the armor lines (which may
// be included).
func dearmor(lines []string) ([]byte, error) {
	var b strings.Builder
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == BeginArmor || l == EndArmor || l == "" {
			continue
		}
		b.WriteString(l)
	}
	data, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrBackupIntegrity, err)
	}
	return data, nil
}
