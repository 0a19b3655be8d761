package checkpoint

import (
	"errors"
	"fmt"
)

// ErrCorrupt is matched (errors.Is) by every error that says a checkpoint file is damaged:
// a tensor whose bytes do not match the checksum recorded for it, a file cut short or with
// trailing bytes, a header that does not parse, offsets that do not add up, metadata that
// is not what this package wrote. Such a file should not be trusted; an earlier checkpoint
// or a fresh start is the remedy.
var ErrCorrupt = errors.New("corrupt checkpoint")

// ErrArchitecture is matched (errors.Is) by every *ArchitectureError: the file is intact
// but holds the weights of another model.
var ErrArchitecture = errors.New("checkpoint does not fit the model")

// ArchitectureError says that an intact checkpoint does not fit the model it is loaded
// into: it records another architecture than RequireArchitecture asked for, or a tensor is
// missing, has another shape or dtype, or belongs to no parameter of the model. It is
// distinct from corruption (ErrCorrupt): the file itself is sound. It matches
// ErrArchitecture with errors.Is.
type ArchitectureError struct {
	// Path is the checkpoint file.
	Path string
	// Want and Got are the architecture the model has and the one the file records
	// ("" when it records none); both are "" when the mismatch is one of a tensor.
	Want, Got string
	// Tensor names the tensor concerned, "" for a mismatch of the recorded architecture.
	Tensor string
	// Detail says what does not fit.
	Detail string
}

// Error describes the mismatch, naming the file and the tensor or the two architectures.
func (e *ArchitectureError) Error() string {
	return fmt.Sprintf("checkpoint: %s: %s", e.Path, e.Detail)
}

// Is reports whether target is ErrArchitecture.
func (e *ArchitectureError) Is(target error) bool { return target == ErrArchitecture }

// corrupt wraps err, a description of damage, so that it matches ErrCorrupt and names the file.
func corrupt(path string, err error) error {
	return fmt.Errorf("checkpoint: %s: %w: %w", path, ErrCorrupt, err)
}
