// Package checkpoint saves and loads a model's parameters, and optionally its optimizer's
// state and the training position, in the safetensors format.
//
// # File format
//
// A checkpoint is a safetensors file: an 8-byte little-endian length N, an N-byte JSON
// header (padded with spaces to a multiple of 8), then the tensor data. The header maps
// each tensor name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, with
// offsets relative to the start of the data, and holds a "__metadata__" map of strings.
// Any safetensors reader (Python's safetensors, for one) can open it.
//
// Tensor names:
//
//	<parameter name>                one per nn.Param, e.g. "stage1/block0/conv1/kernel";
//	                                batch-norm moving statistics included, as they are Params
//	adam/m/<parameter name>         optimizer state, when saved with WithOptimizer
//	adam/v/<parameter name>         (see package optim for every optimizer's slots)
//	sgd/momentum/<parameter name>
//	lars/momentum/<parameter name>
//
// Metadata keys: "format" ("selfsup-checkpoint-v1"), "architecture", "epoch", "step",
// "seed", "tensor_crc32c", and with optimizer state "optimizer" (its name, the prefix of
// its tensors) and "optimizer_iterations"; plus any Meta.Extra keys. "tensor_crc32c" is a
// JSON object mapping every tensor's name to the CRC-32C (Castagnoli) of its raw data
// bytes, as 8 hex digits, e.g. {"conv1/kernel":"1c291ca3",...}.
//
// # Writing and reading
//
// Save writes atomically: a temporary file in the destination's directory, synced, then
// renamed over the destination, so a crash or a full disk leaves the previous checkpoint
// in place. Load reads into existing parameters in place, after checking the whole file:
// the header (truncation, bad JSON, unknown dtypes, offsets out of range, overlapping or
// leaving gaps, sizes that do not match shapes), that every parameter has a tensor of
// dtype F32 and of its shape, that no tensor is left unexplained, and, with
// RequireArchitecture, that the checkpoint is for the same architecture; Load and ReadMeta
// also check every tensor's bytes against its recorded CRC-32C. Errors name the file and
// the tensor or byte offset; on any error nothing is changed.
//
// # Errors
//
// A damaged file (a checksum that does not match, truncation, a header that does not
// parse) gives an error matching ErrCorrupt. An intact file of another model (another
// recorded architecture, a missing, surplus or differently shaped tensor) gives an
// *ArchitectureError, matching ErrArchitecture and not ErrCorrupt.
//
// Files written before checksums were recorded (and files of other safetensors writers)
// have no "tensor_crc32c" key: they still load, unverified. Once the key is present every
// tensor must have a checksum and every checksum must match.
package checkpoint
