package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses after a stop signal, 128 + the signal's number, as a shell reports them.
const (
	// exitInterrupted follows SIGINT (Ctrl-C).
	exitInterrupted = 130
	// exitTerminated follows SIGTERM, what timeout, Docker, Kubernetes and SLURM send.
	exitTerminated = 143
)

// stopSignals are the signals that stop the program gracefully: the context is cancelled,
// the command finishes what it must (the partial report) and the program exits with
// exitStatus's code. A second one kills the program the default way.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// signalError is the cause of a context cancelled by a stop signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "received " + e.sig.String() }

// withStopSignals returns a context cancelled, with a signalError as its cause, by the first
// of stopSignals to arrive; from then on the signals have their default effect again, so
// that a second one kills the program. stop releases the signals.
func withStopSignals(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, stopSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			// Restore the default first, so that any signal after the cancellation kills.
			signal.Reset(stopSignals...)
			cancel(signalError{s})
		case <-done:
			return
		}
		// A second signal that arrived before the Reset took effect is caught, not
		// delivered: act on it as the default would, at once.
		select {
		case s2 := <-ch:
			fmt.Fprintf(os.Stderr, "selfsup: %v again: stopping at once\n", s2)
			os.Exit(signalStatus(s2))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// signalStatus is the exit status after the stop signal s.
func signalStatus(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// exitStatus is the exit status for err, the result of a command run under ctx: 0 for
// success, the signal's status when a stop signal cancelled the command, 1 otherwise.
func exitStatus(ctx context.Context, err error) int {
	if err == nil {
		return 0
	}
	if se, ok := context.Cause(ctx).(signalError); ok && ctx.Err() != nil {
		return signalStatus(se.sig)
	}
	return exitCode(err)
}
