package prefilter

import (
	"strings"

	"github.com/postmortem-tool/postmortem/parsers"
)

// Matcher reports whether a line contains any of a set of literals,
// ASCII-case-insensitively, in one pass: an Aho-Corasick automaton made
// into a full DFA over byte classes (bytes that no literal holds share one
// class, upper-case letters share their lower-case letter's class). A
// Matcher is read-only after New and safe for concurrent use.
type Matcher struct {
	class  [256]uint8
	nclass int
	next   []int32 // state*nclass+class -> state
	delta  []int32 // state*nclass+class -> row of the next state, negated if it has outputs
	out    []int32 // state -> index into outs of its first output, -1 if none
	outs   [][]lit // outputs of a state: literals ending there
	empty  bool    // no literal: nothing matches
	minLen int
	maxLen int
}

type lit struct {
	n    int
	word bool
}

// NewMatcher builds a Matcher for lits. Duplicate and empty literals are
// ignored.
func NewMatcher(lits []parsers.Literal) *Matcher {
	m := &Matcher{}
	// Byte classes: 0 for bytes in no literal; one per distinct lower-case
	// byte otherwise.
	for _, l := range lits {
		for i := 0; i < len(l.Text); i++ {
			b := lower(l.Text[i])
			if m.class[b] == 0 {
				m.nclass++
				if m.nclass > 255 {
					panic("prefilter: too many byte classes")
				}
				m.class[b] = uint8(m.nclass)
				if b >= 'a' && b <= 'z' {
					m.class[b-'a'+'A'] = uint8(m.nclass)
				}
			}
		}
	}
	m.nclass++
	// Trie: child[s*nclass+c] is the child of node s on class c, or 0
	// (the root is nobody's child).
	type node struct {
		fail int32
		outs []lit
	}
	nodes := []node{{}}
	child := make([]int32, m.nclass)
	seen := map[parsers.Literal]bool{}
	for _, l := range lits {
		l.Text = strings.ToLower(l.Text)
		if l.Text == "" || seen[l] {
			continue
		}
		seen[l] = true
		s := int32(0)
		for i := 0; i < len(l.Text); i++ {
			c := int(m.class[l.Text[i]])
			nx := child[int(s)*m.nclass+c]
			if nx == 0 {
				nx = int32(len(nodes))
				nodes = append(nodes, node{})
				child = append(child, make([]int32, m.nclass)...)
				child[int(s)*m.nclass+c] = nx
			}
			s = nx
		}
		nodes[s].outs = append(nodes[s].outs, lit{len(l.Text), l.Word})
		if m.minLen == 0 || len(l.Text) < m.minLen {
			m.minLen = len(l.Text)
		}
		m.maxLen = max(m.maxLen, len(l.Text))
	}
	if len(seen) == 0 {
		m.empty = true
		return m
	}
	// Breadth-first: failure links, outputs inherited along them, and the
	// full transition table.
	m.next = make([]int32, len(nodes)*m.nclass)
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s != 0 {
			nodes[s].outs = append(nodes[s].outs, nodes[nodes[s].fail].outs...)
		}
		for c := 0; c < m.nclass; c++ {
			if nx := child[int(s)*m.nclass+c]; nx != 0 {
				if s == 0 {
					nodes[nx].fail = 0
				} else {
					nodes[nx].fail = m.next[int(nodes[s].fail)*m.nclass+c]
				}
				m.next[int(s)*m.nclass+c] = nx
				queue = append(queue, nx)
			} else if s != 0 {
				m.next[int(s)*m.nclass+c] = m.next[int(nodes[s].fail)*m.nclass+c]
			}
		}
	}
	m.out = make([]int32, len(nodes))
	for i := range nodes {
		m.out[i] = -1
		if len(nodes[i].outs) > 0 {
			m.out[i] = int32(len(m.outs))
			m.outs = append(m.outs, nodes[i].outs)
		}
	}
	m.delta = make([]int32, len(m.next))
	for i, nx := range m.next {
		row := nx * int32(m.nclass)
		if m.out[nx] >= 0 {
			row = -row
		}
		m.delta[i] = row
	}
	m.next = nil
	return m
}

// Match reports whether line contains one of the literals (a Word literal
// only where no letter, digit or '_' touches it on either side).
func (m *Matcher) Match(line []byte) bool {
	if m.empty || len(line) < m.minLen {
		return false
	}
	n := len(line)
	if n < 2*m.maxLen+64 {
		return m.scan(line, 0, n, 0)
	}
	// Each step of the automaton waits for the load of the step before, so
	// a long line is scanned as two halves in one loop, whose steps the CPU
	// overlaps. The second half starts maxLen-1 bytes early, in the start
	// state: a literal ending in it starts at or after that point, and one
	// ending before it is seen by the first half.
	delta, cls := m.delta, &m.class
	mid := (n + m.maxLen - 1) / 2
	b0 := mid - (m.maxLen - 1)
	steps := mid
	if rest := n - b0; rest < steps {
		steps = rest
	}
	a, b := line[:steps], line[b0:b0+steps]
	s1, s2 := int32(0), int32(0)
	for k := range a {
		s1 = delta[s1+int32(cls[a[k]])]
		s2 = delta[s2+int32(cls[b[k]])]
		if s1|s2 < 0 {
			if s1 < 0 {
				if m.outputs(line, k, -s1) {
					return true
				}
				s1 = -s1
			}
			if s2 < 0 {
				if m.outputs(line, b0+k, -s2) {
					return true
				}
				s2 = -s2
			}
		}
	}
	return m.scan(line, steps, mid, s1) || m.scan(line, b0+steps, n, s2)
}

// scan runs the automaton over line[from:to] from state row s.
func (m *Matcher) scan(line []byte, from, to int, s int32) bool {
	// delta holds, per state and byte class, the next state's row offset
	// (state*nclass), negated when that state has outputs.
	delta, cls := m.delta, &m.class
	for i := from; i < to; i++ {
		s = delta[s+int32(cls[line[i]])]
		if s < 0 {
			if m.outputs(line, i, -s) {
				return true
			}
			s = -s
		}
	}
	return false
}

// outputs checks the literals ending at line[i] in the state at row.
func (m *Matcher) outputs(line []byte, i int, row int32) bool {
	for _, l := range m.outs[m.out[row/int32(m.nclass)]] {
		if !l.word || m.boundary(line, i+1-l.n, i+1) {
			return true
		}
	}
	return false
}

// boundary reports whether line[a:b] stands alone as a word.
func (m *Matcher) boundary(line []byte, a, b int) bool {
	return (a == 0 || !isWord(line[a-1])) && (b == len(line) || !isWord(line[b]))
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
