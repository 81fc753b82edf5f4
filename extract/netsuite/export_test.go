package netsuite

import "context"

// FetchTokenForTest runs the token request of an initialised Source.
func FetchTokenForTest(s *Source, ctx context.Context) (string, error) { return s.fetchToken(ctx) }
