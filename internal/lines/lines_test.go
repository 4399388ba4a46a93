package lines

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// chunkReader returns the data in pieces whose sizes cycle through sizes.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = c.sizes[c.i%len(c.sizes)]
		c.i++
	}
	if n > len(p) {
		n = len(p)
	}
	if n > len(c.data) {
		n = len(c.data)
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// want is the reference split: strings.Split without the empty element
// after a final newline, with one trailing '\r' stripped per line.
func want(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, "\n")
	if strings.HasSuffix(s, "\n") {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = strings.TrimSuffix(p, "\r")
	}
	return parts
}

func collect(r *Reader) []string {
	var out []string
	for {
		l, ok := r.Next()
		if !ok {
			return out
		}
		out = append(out, string(l))
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"one newline", "\n", []string{""}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"final newline", "a\nb\n", []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}},
		{"one cr only stripped", "a\r\r\n", []string{"a\r"}},
		{"lone cr kept inside", "a\rb\n", []string{"a\rb"}},
		{"blank lines", "\n\nx\n\n", []string{"", "", "x", ""}},
		{"cr at eof", "a\r", []string{"a"}},
	}
	for _, tc := range tests {
		for _, block := range []int{1, 2, 3, 7, 4096} {
			r := NewReader(strings.NewReader(tc.in), block, 100)
			got := collect(r)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("%s block=%d: got %q want %q", tc.name, block, got, tc.want)
			}
			if r.Lines != int64(len(tc.want)) || r.Line != r.Lines || r.Skipped != 0 {
				t.Errorf("%s block=%d: Lines=%d Line=%d Skipped=%d", tc.name, block, r.Lines, r.Line, r.Skipped)
			}
			if r.Bytes != int64(len(tc.in)) {
				t.Errorf("%s: Bytes=%d want %d", tc.name, r.Bytes, len(tc.in))
			}
		}
	}
}

func TestOverLong(t *testing.T) {
	long := strings.Repeat("x", 50)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string // line:text
		skipped int64
	}{
		{"middle", "a\n" + long + "\nb\n", 10, []string{"1:a", "3:b"}, 1},
		{"exactly max", "a\n" + long[:10] + "\nb", 10, []string{"1:a", "2:" + long[:10], "3:b"}, 0},
		{"max plus one", "a\n" + long[:11] + "\nb", 10, []string{"1:a", "3:b"}, 1},
		{"at end no newline", "a\n" + long, 10, []string{"1:a"}, 1},
		{"first", long + "\nb\n", 10, []string{"2:b"}, 1},
		{"two in a row", long + "\n" + long + "\nc", 10, []string{"3:c"}, 2},
	}
	for _, tc := range tests {
		for _, block := range []int{1, 4, 8, 64, 4096} {
			r := NewReader(strings.NewReader(tc.in), block, tc.max)
			var got []string
			for {
				l, ok := r.Next()
				if !ok {
					break
				}
				got = append(got, itoa(r.Line)+":"+string(l))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s block=%d: got %q want %q", tc.name, block, got, tc.want)
			}
			if r.Skipped != tc.skipped {
				t.Errorf("%s block=%d: skipped %d want %d", tc.name, block, r.Skipped, tc.skipped)
			}
			if len(r.buf) > max(block, tc.max+1) {
				t.Errorf("%s block=%d: buffer grew to %d", tc.name, block, len(r.buf))
			}
		}
	}
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// TestHugeLineBoundedMemory streams a 10 MB line through a 1 KiB cap and
// checks the buffer never holds it.
func TestHugeLineBoundedMemory(t *testing.T) {
	in := io.MultiReader(strings.NewReader("before\n"), io.LimitReader(neverNewline{}, 10<<20), strings.NewReader("\nafter\n"))
	r := NewReader(in, 512, 1024)
	got := collect(r)
	if strings.Join(got, "|") != "before|after" || r.Line != 3 || r.Skipped != 1 {
		t.Fatalf("got %q line=%d skipped=%d", got, r.Line, r.Skipped)
	}
	if len(r.buf) > 1025 {
		t.Fatalf("buffer grew to %d", len(r.buf))
	}
}

type neverNewline struct{}

func (neverNewline) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestReadErrorDropsPartialLine(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(&errAfter{strings.NewReader("a\nb\npart"), boom}, 3, 100)
	got := collect(r)
	if strings.Join(got, "|") != "a|b" || !errors.Is(r.Err(), boom) || r.Skipped != 1 {
		t.Fatalf("got %q err=%v skipped=%d", got, r.Err(), r.Skipped)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	r := NewReader(zeroReader{}, 16, 16)
	if _, ok := r.Next(); ok || r.Err() == nil {
		t.Fatalf("want error from a reader that makes no progress")
	}
}

// FuzzReader checks that any chunking of the input gives the same lines as
// strings.Split, each with the byte offset at which it starts.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), []byte{1, 2, 3})
	f.Add([]byte("\n\n\r\n"), []byte{5})
	f.Add([]byte("GET / HTTP/1.1\" 502 0\nrecv() failed (104: Connection reset by peer)\n"), []byte{7, 1, 200})
	f.Fuzz(func(t *testing.T, data []byte, sizes []byte) {
		sz := make([]int, len(sizes))
		for i, s := range sizes {
			sz[i] = int(s)%64 + 1
		}
		block := 1
		if len(sizes) > 0 {
			block = int(sizes[0])%32 + 1
		}
		w := want(string(data))
		starts := make([]int64, len(w))
		for i, off := 0, int64(0); i < len(w); i++ {
			starts[i] = off
			off += int64(rawLen(data, w, i)) + 1
		}
		r := NewReader(&chunkReader{data: data, sizes: sz}, block, len(data)+1)
		var got []string
		for {
			l, ok := r.Next()
			if !ok {
				break
			}
			if i := len(got); i < len(starts) && r.Offset != starts[i] {
				t.Fatalf("line %d: Offset=%d want %d", i+1, r.Offset, starts[i])
			}
			got = append(got, string(l))
		}
		if len(got) != len(w) {
			t.Fatalf("got %d lines %q, want %d %q", len(got), got, len(w), w)
		}
		for i := range got {
			if got[i] != w[i] {
				t.Fatalf("line %d: got %q want %q", i+1, got[i], w[i])
			}
		}
		if r.Bytes != int64(len(data)) {
			t.Fatalf("Bytes=%d want %d", r.Bytes, len(data))
		}
		// With a stop offset, exactly the lines that start before it.
		if len(sizes) > 0 {
			stop := int64(len(data)) * int64(sizes[len(sizes)-1]) / 255
			r = NewReader(&chunkReader{data: data, sizes: sz}, block, len(data)+1)
			r.StopAt(stop)
			n := 0
			for {
				l, ok := r.Next()
				if !ok {
					break
				}
				if n >= len(w) || string(l) != w[n] || starts[n] >= stop {
					t.Fatalf("stop %d: line %d %q", stop, n+1, l)
				}
				n++
			}
			if n < len(w) && starts[n] < stop {
				t.Fatalf("stop %d: stopped after %d lines, line %d starts at %d", stop, n, n+1, starts[n])
			}
		}
		// With a small cap, yielded lines must be exactly the reference
		// lines that fit, at their own line numbers.
		const capLen = 8
		r = NewReader(&chunkReader{data: data, sizes: sz}, block, capLen)
		var skipped int64
		wi := 0
		for {
			l, ok := r.Next()
			if !ok {
				break
			}
			for wi < len(w) && rawLen(data, w, wi) > capLen {
				wi++
				skipped++
			}
			if wi >= len(w) || string(l) != w[wi] || r.Line != int64(wi+1) || r.Offset != starts[wi] {
				t.Fatalf("capped: got %q at line %d, offset %d", l, r.Line, r.Offset)
			}
			wi++
		}
		for ; wi < len(w); wi++ {
			if rawLen(data, w, wi) > capLen {
				skipped++
			}
		}
		if r.Skipped != skipped {
			t.Fatalf("capped: skipped %d want %d", r.Skipped, skipped)
		}
	})
}

// rawLen is the length of reference line i before '\r' stripping.
func rawLen(data []byte, w []string, i int) int {
	raw := strings.Split(string(data), "\n")
	return len(raw[i])
}
