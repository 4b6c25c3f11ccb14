package fiberauth

import (
	"io"
	"net"
	"sync"
	"time"
)

// Lingering close: how long, and how much, a closed connection keeps reading what the
// client still sends, so that the client reads the answer instead of a reset.
const (
	lingerTimeout = time.Second
	lingerMax     = 4 << 20
)

// Listener wraps a TCP listener for app.Listener so that the answer fasthttp writes
// right before closing a connection reaches a client that is still sending: 431 for
// headers beyond ReadBufferSize, 413 for a body beyond BodyLimit.
//
// fasthttp closes such a connection at once, with the rest of the request unread, and
// the kernel then resets it; a client still writing (a 1 MiB Authorization header, say)
// gets "connection reset by peer" instead of the 431. A connection from Listener closes
// as net/http's server does after such an error: it shuts down its sending side, reads
// and discards what the client sends for up to a second (4 MiB at most), and only then
// closes. Connections the client closed first close at once.
//
//	ln, err := net.Listen("tcp", ":8080")
//	...
//	log.Fatal(app.Listener(fiberauth.Listener(ln)))
//
// Connections that are not TCP pass through unchanged. Prefork (which opens its own
// listeners) cannot use it.
func Listener(ln net.Listener) net.Listener { return lingerListener{ln} }

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &lingerConn{TCPConn: tc}, nil
	}
	return c, nil
}

// lingerConn is a TCP connection whose Close half-closes and drains in the background,
// so that fasthttp's worker is not held.
type lingerConn struct {
	*net.TCPConn
	once sync.Once
}

func (c *lingerConn) Close() error {
	c.once.Do(func() {
		if c.TCPConn.CloseWrite() != nil {
			c.TCPConn.Close()
			return
		}
		go func() {
			c.TCPConn.SetReadDeadline(time.Now().Add(lingerTimeout))
			io.CopyN(io.Discard, c.TCPConn, lingerMax) //nolint:errcheck // EOF, timeout or reset all end it
			c.TCPConn.Close()
		}()
	})
	return nil
}
