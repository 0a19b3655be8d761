//go:build !race

package ops

// raceEnabled reports a -race build, whose instrumentation allocates.
const raceEnabled = false
