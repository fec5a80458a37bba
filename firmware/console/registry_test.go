package console

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"kpos/firmware/console/command"
)

// A command is one record: declaring one, and nothing else, gives it help,
// completion, argument checks, privileges with their audit record, a table
// and -json. Its name is written once, in the record.
func TestOneRecordIsACommand(t *testing.T) {
	type reading struct {
		Sensor string `json:"sensor"`
		Value  int    `json:"value"`
	}
	r := newRig(t)
	gauge := &command.Command{Name: "gauge", Usage: "[N]", Summary: "test-only readings (N *)",
		Help: "Shows N readings; asking for any N needs privileges.",
		Args: command.Between(0, 1, "%s takes at most one N"), Privileged: func(a []string) bool { return len(a) > 0 },
		Run: command.Handle(func(c *command.Call) ([]reading, error) {
			n := 2
			if len(c.Args) == 1 {
				v, err := strconv.Atoi(c.Args[0])
				if err != nil {
					return nil, c.Usage("'%s' is not a number", c.Args[0])
				}
				n = v
			}
			var out []reading
			for i := range n {
				out = append(out, reading{"s" + strconv.Itoa(i), 10 * i})
			}
			return out, nil
		}, command.TableOf("no readings",
			command.Column[reading]{Head: "SENSOR", Cell: func(r reading) string { return r.Sensor }},
			command.Column[reading]{Head: "VALUE", Cell: func(r reading) string { return strconv.Itoa(r.Value) }, Right: true}))}
	c := New(r.cfg, append(r.cmds(), gauge)...)
	name := gauge.Name
	s := r.startWith(t, c)
	s.login()

	tests := []struct {
		line string
		want []string
	}{
		{"help", []string{name + "  ", "test-only readings (N *)"}},
		{"help " + name, []string{"usage: " + name + " [N]", "Shows N readings"}},
		{name, []string{"SENSOR  VALUE", "s0          0", "s1         10"}},
		{name + " 3", []string{"'" + name + " 3' needs privileges: type 'priv' first"}},
		{name + "x", []string{"did you mean '" + name + "'?"}},
	}
	for _, tt := range tests {
		out := s.run(tt.line)
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.line, w, out)
			}
		}
	}
	var got []reading
	if err := json.Unmarshal([]byte(s.run(name+" -json")), &got); err != nil || len(got) != 2 || got[1] != (reading{"s1", 10}) {
		t.Errorf("%s -json = %v, %v", name, got, err)
	}
	if out := s.run(name + " 0 -json"); !strings.Contains(out, "needs privileges") {
		t.Errorf("%s 0 -json without priv: %s", name, out)
	}
	s.priv()
	if out := s.run(name + " 1 2"); !strings.Contains(out, "error: "+name+" takes at most one N\nusage: "+name+" [N]") {
		t.Errorf("%s 1 2: %s", name, out)
	}
	if out := s.run(name + " 0"); !strings.Contains(out, "no readings") {
		t.Errorf("%s 0: %s", name, out)
	}
	if out := s.run(name + " 0 -json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("%s 0 -json = %q, want []", name, out)
	}
	if a := r.audit.String(); !strings.Contains(a, `"command":"`+name+`","args":["0"],"result":"ok"`) {
		t.Errorf("no audit record of the privileged call:\n%s", a)
	}
	// Completion: the first word from the record's name.
	s.sendRaw(name[:3] + "\t")
	s.expect(name + " ")
	s.send("")
	s.expect("kpos# ")
}
