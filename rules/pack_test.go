package rules

import "testing"

func TestDefaultPackParses(t *testing.T) {
	p := Default()
	if err := DefaultErr(); err != nil {
		t.Fatalf("default pack:\n%v", err)
	}
	want := map[string]string{
		"hard-cut-without-drain": "critical",
		"websocket-drain-stuck":  "warning",
		"timewait-explosion":     "warning",
	}
	if len(p.Rules) != len(want) {
		t.Fatalf("got %d rules, want %d", len(p.Rules), len(want))
	}
	for id, sev := range want {
		r := p.Rule(id)
		if r == nil {
			t.Fatalf("missing rule %s", id)
		}
		if r.Severity != sev || r.Case != id {
			t.Errorf("%s: severity %s case %s", id, r.Severity, r.Case)
		}
	}
}
