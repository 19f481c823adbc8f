// Package exitcode holds the process exit codes of chainfleet-agent and an error type that
// carries one. The codes are part of the agent's interface (README.md lists them): Kubernetes
// shows an init container's exit code, and the readiness probe only distinguishes 0 from non-0.
package exitcode

import (
	"errors"
	"fmt"
)

const (
	// OK: the command did what it was asked (for `ready`: the node is in sync).
	OK = 0
	// Failure: something failed that may pass on a retry (network, the chain's init, a file
	// system error), or for `ready`: the node is not in sync / not reachable.
	Failure = 1
	// Usage: a flag is missing, unknown or has a bad value. Retrying cannot help; fix the args.
	Usage = 2
	// Invalid: an input was checked and is wrong: a genesis checksum or chain-id mismatch, an
	// override naming an unknown key or with the wrong type, an unreadable key file. Retrying
	// cannot help; fix the stack config.
	Invalid = 3
	// NotProven (`halt`): the node ended without its app at exactly the height asked for, so
	// its volume must not be handed to the next binary. A pod deleted mid-way ends so too.
	NotProven = 4
)

// Error is an error with the exit code the process should end with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Usagef is a usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Invalidf is an invalid-input error (exit 3).
func Invalidf(format string, args ...any) error {
	return &Error{Code: Invalid, Err: fmt.Errorf(format, args...)}
}

// AsInvalid wraps err as an invalid-input error (exit 3); nil stays nil.
func AsInvalid(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: Invalid, Err: err}
}

// Of returns the exit code for err: 0 for nil, the code of an *Error, else Failure.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failure
}
