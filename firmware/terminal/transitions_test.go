package terminal

import "testing"

// TestTablesAreClosed checks each transition table against its steps: every
// state with outgoing transitions has work, every state with work has
// transitions, and every target is final or has work of its own.
func TestTablesAreClosed(t *testing.T) {
	cases := []struct {
		name  string
		table map[State]map[Event]State
		work  map[State]step
		start []State
	}{
		{"card", transitions, steps, []State{StateAmount, StateRefundRef, StateWaitCard}},
		{"on an original", originalTransitions, originalSteps, []State{StateOrigTrace}},
		{"cardless", cardlessTransitions, cardlessSteps, []State{StateQRAmount, StateCollectAmount, StateCashAmount}},
	}
	for _, c := range cases {
		for s, evs := range c.table {
			if _, ok := c.work[s]; !ok {
				t.Errorf("%s: state %s has transitions but no work", c.name, s)
			}
			for ev, next := range evs {
				if _, ok := c.work[next]; !ok && !final(next) {
					t.Errorf("%s: %s --%s--> %s, which has no work and is not final", c.name, s, ev, next)
				}
			}
		}
		for s := range c.work {
			if _, ok := c.table[s]; !ok {
				t.Errorf("%s: state %s has work but no transitions", c.name, s)
			}
		}
		// Every state is reachable from a start.
		seen := map[State]bool{}
		todo := append([]State(nil), c.start...)
		for len(todo) > 0 {
			s := todo[0]
			todo = todo[1:]
			if seen[s] {
				continue
			}
			seen[s] = true
			for _, next := range c.table[s] {
				todo = append(todo, next)
			}
		}
		for s := range c.table {
			if !seen[s] {
				t.Errorf("%s: state %s cannot be reached", c.name, s)
			}
		}
	}
}
