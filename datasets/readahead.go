package datasets

import "io"

// readAhead reads its source on another goroutine, a few chunks ahead of the consumer, so that
// decompressing an archive and parsing it run on two cores.
type readAhead struct {
	full  chan chunk
	free  chan []byte
	done  chan struct{} // closed by Close: stop reading
	exit  chan struct{} // closed by the goroutine when it returns
	cur   []byte
	saved []byte // the buffer cur points into, returned to free once consumed
	err   error
}

type chunk struct {
	b   []byte
	err error
}

const (
	readAheadChunk = 1 << 20
	readAheadCount = 4
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full: make(chan chunk, readAheadCount),
		free: make(chan []byte, readAheadCount),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	for range readAheadCount {
		ra.free <- make([]byte, readAheadChunk)
	}
	go func() {
		defer close(ra.exit)
		defer close(ra.full)
		for {
			var buf []byte
			select {
			case buf = <-ra.free:
			case <-ra.done:
				return
			}
			// Fill buf, keeping the source's own error (io.EOF at the end, anything else as is).
			n := 0
			var err error
			for n < len(buf) && err == nil {
				var m int
				m, err = r.Read(buf[n:])
				n += m
			}
			select {
			case ra.full <- chunk{buf[:n], err}:
			case <-ra.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.saved != nil {
			ra.free <- ra.saved[:cap(ra.saved)]
			ra.saved = nil
		}
		c, ok := <-ra.full
		if !ok {
			ra.err = io.EOF
			return 0, io.EOF
		}
		ra.cur, ra.saved, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the reading goroutine and waits for it, so that the source may be closed next.
func (ra *readAhead) Close() {
	close(ra.done)
	<-ra.exit
}
