package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
)

// MaxCollection is the most records one sObject Collections request may carry.
const MaxCollection = 200

// RecordError is one error of one record in an sObject Collections response.
type RecordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// UpsertResult is the outcome of one record of an upsert, in request order.
type UpsertResult struct {
	ID      string        `json:"id"`
	Success bool          `json:"success"`
	Created bool          `json:"created"`
	Errors  []RecordError `json:"errors"`
}

// Upsert creates or updates records of object keyed by the External ID field extIDField
// (PATCH /composite/sobjects/{object}/{extIDField}), MaxCollection per request, so a
// re-run or a retry never creates a duplicate. Each record is field name → JSON value
// (dates as "2024-05-20", datetimes as "2024-05-20T20:49:32Z") and must carry its
// extIDField. With allOrNone, a record that fails rolls back the other records of its
// request (chunks of MaxCollection are independent). Results come back in record order;
// the error is for a request that failed as a whole.
func (s *Source) Upsert(ctx context.Context, object, extIDField string, records []map[string]any, allOrNone bool) ([]UpsertResult, error) {
	base, err := s.base(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UpsertResult, 0, len(records))
	for start := 0; start < len(records); start += MaxCollection {
		chunk := records[start:min(start+MaxCollection, len(records))]
		body := struct {
			AllOrNone bool             `json:"allOrNone"`
			Records   []map[string]any `json:"records"`
		}{AllOrNone: allOrNone, Records: make([]map[string]any, len(chunk))}
		for i, r := range chunk {
			rec := maps.Clone(r)
			rec["attributes"] = map[string]string{"type": object}
			body.Records[i] = rec
		}
		b, err := json.Marshal(body)
		if err != nil {
			return out, fmt.Errorf("salesforce: upsert %s: %w", object, err)
		}
		h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
		resp, err := s.api.Do(ctx, http.MethodPatch, s.dataURL(base, "composite/sobjects/"+object+"/"+extIDField), h, b)
		if err != nil {
			err = apiError(err)
			if isLimitExceeded(err) {
				return out, &QuotaError{Object: object, Code: "REQUEST_LIMIT_EXCEEDED", Share: s.QuotaShare}
			}
			return out, wrap(fmt.Sprintf("upsert %s records %d-%d", object, start+1, start+len(chunk)), err)
		}
		var res []UpsertResult
		if err := json.Unmarshal(resp.Body, &res); err != nil || len(res) != len(chunk) {
			return out, fmt.Errorf("salesforce: upsert %s: malformed response (%d results for %d records)", object, len(res), len(chunk))
		}
		out = append(out, res...)
	}
	return out, nil
}

// Update changes fields of one record (PATCH /sobjects/{object}/{id}), such as the
// custom forecast fields of an Opportunity.
func (s *Source) Update(ctx context.Context, object, id string, fields map[string]any) error {
	base, err := s.base(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("salesforce: update %s %s: %w", object, id, err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if _, err := s.api.Do(ctx, http.MethodPatch, s.dataURL(base, "sobjects/"+object+"/"+id), h, b); err != nil {
		err = apiError(err)
		if isLimitExceeded(err) {
			return &QuotaError{Object: object, Code: "REQUEST_LIMIT_EXCEEDED", Share: s.QuotaShare}
		}
		return wrap(fmt.Sprintf("update %s %s", object, id), err)
	}
	return nil
}
