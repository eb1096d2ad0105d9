// Package errs defines Latchkey's small set of error codes. Every layer returns errors that carry
// one of these codes; the API and the dashboard each turn a code into a response in one place.
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an error for the user-facing layers.
type Code string

// The error codes. Anything without a code is Internal and its details are only logged.
const (
	Invalid         Code = "invalid"
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"
	Forbidden       Code = "forbidden"
	Unauthenticated Code = "unauthenticated"
	TooManyRequests Code = "too_many_requests"
	TooLarge        Code = "too_large" // input over a size limit: HTTP 413 in the API
	Internal        Code = "internal"
)

// Error is an error whose Message is safe to show to the user who caused it.
type Error struct {
	Code    Code
	Message string
	// Field names the input that was wrong, for form and API validation errors (e.g. "name").
	Field string
	// APICode, when set, is the Cloudflare-compatible numeric error code for the API envelope.
	APICode int
	// Err is the underlying cause, logged but never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// E returns an error with the given code and a message formatted as by fmt.Sprintf.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns an Invalid error that names the offending input field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WithCode changes the code of e and returns e; handy for a field error that is a Conflict.
func (e *Error) WithCode(c Code) *Error { e.Code = c; return e }

// WithAPICode sets the Cloudflare-compatible numeric code and returns e.
func (e *Error) WithAPICode(code int) *Error { e.APICode = code; return e }

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf returns the code of err: Internal for errors without one, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e := As(err); e != nil {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

// MessageOf returns a message safe to show for err; internal errors get a generic text.
func MessageOf(err error) string {
	if e := As(err); e != nil && e.Code != Internal {
		return e.Message
	}
	return "Something went wrong on our side. The error has been logged."
}
