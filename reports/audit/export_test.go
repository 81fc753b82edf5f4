package audit

// MarshalDetail exposes marshalDetail to the package's tests.
var MarshalDetail = marshalDetail
