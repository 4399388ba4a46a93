package haproxy

import (
	"strings"
	"testing"
)

// TestMessageLiteralsCoverMessages: every message prefix and suffix the
// parser handles holds one of messageLiterals.
func TestMessageLiteralsCoverMessages(t *testing.T) {
	words := [][]byte{pServer, pBackup, pNoServer, pStarted}
	words = append(words, reloadMsgs...)
	for _, w := range words {
		ok := false
		for _, l := range messageLiterals {
			if strings.Contains(strings.ToLower(string(w)), l) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%q holds none of messageLiterals", w)
		}
	}
}
