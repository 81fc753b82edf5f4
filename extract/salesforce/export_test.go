package salesforce

// SetMaxCursorIDs lowers the number of ids a cursor keeps for its last second, so tests
// can reach the overflow path with few records. Call it before Init.
func (s *Source) SetMaxCursorIDs(n int) { s.maxCursIDs = n }
