//go:build !unix && !windows

package datasets

import (
	"fmt"
	"io"
	"os"
)

// mapFile reads the first size bytes of f into memory: this platform has no memory maps, so
// large files (STL-10's unlabeled split) cost their size in heap here.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, fmt.Errorf("cannot map %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return b, func() error { return nil }, nil
}
