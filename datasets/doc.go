// Package datasets loads image sets for selfsup: CIFAR-10, CIFAR-100 and STL-10 in their
// official binary layouts, the caller's own images from a folder, and a small dataset embedded
// in the module. It also downloads the official archives, resuming and verifying them.
//
// Every loader returns an *Images: RGB images of one size stored as uint8 in one contiguous
// slice, with labels and class names. *Images implements ssl.Dataset and its fast path
// ssl.BatchFiller, which writes a float32 NCHW batch (value/255) for a list of indices through a
// 256-entry lookup table, with no per-pixel interface call.
//
//	train, err := datasets.CIFAR10("data/cifar-10-binary.tar.gz", datasets.Train) // or the extracted folder
//	test, err := datasets.CIFAR10("data/cifar-10-binary.tar.gz", datasets.Test)
//	train, test, err := datasets.CIFAR10TrainTest("data/cifar-10-binary.tar.gz") // one pass over the archive
//	fine, err := datasets.CIFAR100(dir, datasets.Train)                           // 100 classes
//	coarse, err := datasets.CIFAR100(dir, datasets.Train, datasets.CoarseLabels()) // 20 superclasses
//	unlabeled, err := datasets.STL10("data/stl10_binary", datasets.Unlabeled)       // memory-mapped
//	defer unlabeled.Close()
//	folds, err := datasets.STL10Folds("data/stl10_binary")
//	mine, err := datasets.ImageFolder("photos", datasets.Resize(32, 32))           // photos/<class>/*.jpg
//	pile, err := datasets.ImageFolder("unsorted")                                  // unsorted/*.jpg: unlabeled
//	small, err := datasets.Default(datasets.Train)                                 // embedded, no download
//
// # Memory maps
//
// STL-10 splits are memory-mapped read-only rather than read into the Go heap (the unlabeled
// file alone is 2.7 GB); its column-major planes are converted on the fly. Such a set must be
// released with Close; there is no finalizer. Close is a no-op on the other sets, so closing
// every *Images is always correct. Do not modify or truncate a mapped file while it is open.
//
// # Errors
//
// Bad input is an error, never a panic or a silent wrong result: a truncated or oversized file,
// a label out of range, a fold index past the end, an empty folder, an unreadable image. Each
// error names the file and what is wrong, with the record index and byte offset where it
// applies. The binary parsers are fuzz-tested.
//
// A .tar.gz is always read to the end of its gzip stream, past the last member a loader needs,
// so that the CRC-32 and length in the gzip trailer are checked: a byte flipped anywhere in the
// archive is an error, never a wrong label. The errors of a damaged archive (a checksum or
// length that does not match, data that does not decompress, a header that does not parse, an
// archive cut short) match ErrCorrupt and name the archive.
//
// # The embedded default set
//
// Default returns a 16x16, class-balanced subset of CIFAR-10 (5,000 training and 1,000 test
// images, 500 and 100 per class), about 3.7 MB compressed in the module. It is built by
// internal/mkdefault (go generate) from a CIFAR-10 copy rebuilt from JPEG images of the official
// set: labels and order are exact, pixels differ from the original by about 6/255 on average.
// It exists so that the quick start and the examples run anywhere in seconds; use the real sets
// for real results.
//
// # Downloads
//
// CIFAR10Archive, CIFAR100Archive and STL10Archive describe the official archives (address,
// size, MD5 and, where known, SHA-256). Archive.Download and Download fetch a file with resume
// (HTTP Range on a .part file), checksum verification, progress reports and retries, and rename
// it into place only once verified:
//
//	path, err := datasets.CIFAR10Archive.Download(ctx, "data", datasets.OnDownloadProgress(func(done, total int64) {
//		fmt.Printf("\r%d / %d bytes", done, total)
//	}))
//	train, err := datasets.CIFAR10(path, datasets.Train)
package datasets
