package hostsim

import (
	"strings"

	"kpos/firmware/acquirer"
)

// ReplaceCAKey makes k one of the CA public keys the host distributes,
// replacing a key with the same RID and index, and flags the next answer
// to every terminal it knows with RequireCAKeys, as an acquirer does when
// a scheme issues or changes a key.
func (s *Server) ReplaceCAKey(k CAKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := s.withoutCAKeyLocked(k.RID, k.Index)
	s.cfg.CAKeys = append(keys, k)
	s.requireAllLocked(acquirer.RequireCAKeys)
}

// RemoveCAKey withdraws the key with this RID and index (hex) and flags
// every terminal's next answer with RequireCAKeys. It reports whether the
// host held the key.
func (s *Server) RemoveCAKey(rid, index string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := s.withoutCAKeyLocked(rid, index)
	if len(keys) == len(s.cfg.CAKeys) {
		return false
	}
	s.cfg.CAKeys = keys
	s.requireAllLocked(acquirer.RequireCAKeys)
	return true
}

// caKeyList is the CA keys distributed now.
func (s *Server) caKeyList() []CAKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CAKey(nil), s.cfg.CAKeys...)
}

func (s *Server) withoutCAKeyLocked(rid, index string) []CAKey {
	var out []CAKey
	for _, x := range s.cfg.CAKeys {
		if strings.EqualFold(x.RID, rid) && strings.EqualFold(x.Index, index) {
			continue
		}
		out = append(out, x)
	}
	return out
}

func (s *Server) requireAllLocked(r int) {
	for tid := range s.terms {
		s.requirement[tid] = r
	}
}
