// Package wsproto is the minimal subset of RFC 6455 the lab needs: the
// opening handshake key, and reading and writing single (unfragmented)
// frames. It is not a general WebSocket library: fragmented messages,
// extensions and payloads above MaxPayload are refused.
package wsproto

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
)

// Opcodes used by the lab.
const (
	OpText  = 0x1
	OpClose = 0x8
	OpPing  = 0x9
	OpPong  = 0xA
)

// MaxPayload is the largest frame payload ReadFrame accepts.
const MaxPayload = 64 << 10

const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a client key.
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + guid))
	return base64.StdEncoding.EncodeToString(h[:])
}

// NewKey returns a random Sec-WebSocket-Key.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// ErrTooLarge is returned for frames above MaxPayload; ErrFragmented for
// continuation frames.
var (
	ErrTooLarge   = errors.New("wsproto: frame too large")
	ErrFragmented = errors.New("wsproto: fragmented frames not supported")
)

// ReadFrame reads one frame and returns its opcode and unmasked payload.
func ReadFrame(r *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 || h[0]&0x0f == 0 {
		return 0, nil, ErrFragmented
	}
	op = h[0] & 0x0f
	masked := h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > MaxPayload {
		return 0, nil, ErrTooLarge
	}
	var mask [4]byte
	if masked {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
	}
	return op, payload, nil
}

// WriteFrame writes one final frame; clients must pass masked=true.
func WriteFrame(w io.Writer, op byte, payload []byte, masked bool) error {
	if len(payload) > MaxPayload {
		return ErrTooLarge
	}
	buf := make([]byte, 0, 14+len(payload))
	buf = append(buf, 0x80|op)
	mbit := byte(0)
	if masked {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		buf = append(buf, mbit|byte(n))
	case n <= 0xffff:
		buf = append(buf, mbit|126, byte(n>>8), byte(n))
	default:
		buf = append(buf, mbit|127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	if masked {
		var mask [4]byte
		_, _ = rand.Read(mask[:])
		buf = append(buf, mask[:]...)
		for i, c := range payload {
			buf = append(buf, c^mask[i&3])
		}
	} else {
		buf = append(buf, payload...)
	}
	_, err := w.Write(buf)
	return err
}
