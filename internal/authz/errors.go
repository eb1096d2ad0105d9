package authz

// ValidationError reports one invalid field of a policy list, a condition or a
// child token's grants. Field is a path into the input as the client sent it,
// such as "policies[0].permission_groups[1].id" or
// `policies[2].resources["com.cloudflare.api.account.zone.*"]`, so that an API
// handler can put it into an error's source pointer and a form can highlight it.
// Message is safe to show to the client.
type ValidationError struct {
	Field   string
	Message string
}

// Error returns "field: message".
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, message string) *ValidationError {
	return &ValidationError{Field: field, Message: message}
}
