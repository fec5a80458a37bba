package keys

// ClearBlockLen tells the PIN pad which clear block the cipher takes: 16
// bytes (pinblock.FormatSM4) for an SM4 PIN key, 8 (ISO 9564 format 0)
// otherwise.
func (c *fixedPINCipher) ClearBlockLen() int { return pinBlockLen(c.alg) }

// ClearBlockLen tells the PIN pad which clear block the store's current PIN
// key takes: 16 bytes for a fixed SM4 PIN key, 8 for 3DES and DUKPT.
func (c *storePINCipher) ClearBlockLen() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.cfg.PIN == PINFixed && c.s.st.PIN != nil {
		return pinBlockLen(c.s.st.PIN.Alg)
	}
	if c.s.cfg.PIN == PINFixed {
		return pinBlockLen(c.s.cfg.Algorithm)
	}
	return 8
}
