// Package cvntest reads the published cryptogram-version vectors
// (testdata/vectors/emv-cvn-vectors.json, generated with pyemv's cvn.py;
// its source line is inside the file) for the tests of the packages that
// compute or verify application cryptograms: emvcrypto, the card simulator
// and the host simulator. It is test support only; nothing in the terminal
// imports it.
package cvntest

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"kpos/firmware/emvcrypto"
)

// Vector is one vector: the issuer master key, the card, the transaction
// data, and the cryptogram and ARPC the scheme's version gives.
type Vector struct {
	Scheme string `json:"scheme"`
	CVN    int    `json:"cvn"`
	PAN    string `json:"pan"`
	PSN    string `json:"psn"`
	IMKAC  string `json:"iss_mk_ac"`
	T9F02  string `json:"tag_9f02"`
	T9F03  string `json:"tag_9f03"`
	T9F1A  string `json:"tag_9f1a"`
	T95    string `json:"tag_95"`
	T5F2A  string `json:"tag_5f2a"`
	T9A    string `json:"tag_9a"`
	T9C    string `json:"tag_9c"`
	T9F37  string `json:"tag_9f37"`
	T82    string `json:"tag_82"`
	T9F36  string `json:"tag_9f36"`
	T9F10  string `json:"tag_9f10"`
	CVR    string `json:"cvr"`
	ICCMK  string `json:"icc_mk_ac"`
	ARQC   string `json:"arqc"`
	ARC    string `json:"arpc_rc"`
	ARPC   string `json:"arpc"`
	CSU    string `json:"csu"`
	ARPC2  string `json:"arpc_method2"`
}

// MC17Counters are the Mastercard CVN 17 counters the vectors were computed
// with. The vector file does not list them; this value, the counters of a
// card that has approved nothing offline (accumulator 0, count 0, then FF),
// reproduces all four CVN 17 cryptograms, and any other value fails them.
const MC17Counters = "00000000000000FF"

// Path returns the vector file of the repository this package is in.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "vectors", "emv-cvn-vectors.json")
}

// Load reads the vector file.
func Load() ([]Vector, error) {
	raw, err := os.ReadFile(Path())
	if err != nil {
		return nil, fmt.Errorf("cvntest: %w", err)
	}
	var f struct {
		Source  string   `json:"source"`
		Vectors []Vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("cvntest: %w", err)
	}
	if f.Source == "" || len(f.Vectors) == 0 {
		return nil, errors.New("cvntest: vector file without source or vectors")
	}
	return f.Vectors, nil
}

// Name is a short label for subtests.
func (v Vector) Name() string {
	return fmt.Sprintf("%s-%d-%s-%s-%s", v.Scheme, v.CVN, v.PAN[len(v.PAN)-4:], v.T9F02, v.T9F36)
}

// Version is the vector's cryptogram version.
func (v Vector) Version() emvcrypto.Version {
	switch {
	case v.Scheme == "visa" && v.CVN == 10:
		return emvcrypto.VisaCVN10
	case v.Scheme == "visa" && v.CVN == 18:
		return emvcrypto.VisaCVN18
	case v.Scheme == "visa" && v.CVN == 22:
		return emvcrypto.VisaCVN22
	case v.Scheme == "mastercard" && v.CVN == 16:
		return emvcrypto.MastercardCVN16
	case v.Scheme == "mastercard" && v.CVN == 17:
		return emvcrypto.MastercardCVN17
	}
	return emvcrypto.VersionUnknown
}

// AID is an AID of the vector's scheme.
func (v Vector) AID() []byte {
	if v.Scheme == "mastercard" {
		return MustHex("A0000000041010")
	}
	return MustHex("A0000000031010")
}

// IAD is the issuer application data a card of the vector's version
// carries with the vector's CVR: the vector's own 9F10 for Visa CVN 18 and
// 22, 06 DKI 0A CVR for Visa CVN 10, DKI CVN CVR DAC counters for
// Mastercard.
func (v Vector) IAD() []byte {
	switch v.Version() {
	case emvcrypto.VisaCVN10:
		return MustHex("06010A" + v.CVR)
	case emvcrypto.MastercardCVN16:
		return MustHex("0110" + v.CVR + "0000" + "0000000000000000")
	case emvcrypto.MastercardCVN17:
		return MustHex("0111" + v.CVR + "0000" + MC17Counters)
	}
	return MustHex(v.T9F10)
}

// Data is the vector's transaction data.
func (v Vector) Data() emvcrypto.TerminalData {
	return emvcrypto.TerminalData{Amount: MustHex(v.T9F02), AmountOther: MustHex(v.T9F03), Country: MustHex(v.T9F1A),
		TVR: MustHex(v.T95), Currency: MustHex(v.T5F2A), Date: MustHex(v.T9A), Type: MustHex(v.T9C),
		UN: MustHex(v.T9F37), AIP: MustHex(v.T82), ATC: MustHex(v.T9F36)}
}

// IssuerAuthData is the tag 91 the vector's issuer answers: ARPC||ARC for
// method 1, ARPC||CSU for method 2.
func (v Vector) IssuerAuthData() []byte {
	if v.ARPC2 != "" {
		return MustHex(v.ARPC2 + v.CSU)
	}
	return MustHex(v.ARPC + v.ARC)
}

// MustHex decodes hex that the vector file or a test wrote.
func MustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic("cvntest: bad hex " + s)
	}
	return b
}
