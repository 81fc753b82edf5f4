package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/revcast/revcast/models/forecast"
)

// forecastModelsSQL creates forecast_models: the fitted forecast model of each run that
// fitted one, so a later run can score with it instead of refitting (forecast.refit_days).
const forecastModelsSQL = `
create table if not exists forecast_models (
    run_id varchar primary key, as_of date, fitted_at timestamptz, version varchar, model json);
comment on table forecast_models is 'forecast_models: the fitted bookings forecast model (win-probability and close-timing logistic models, calibrations, factors; models/forecast.Model as JSON) of each run that fitted one. grain: one row per fitting run. key: run_id';
`

// SaveForecastModel stores m, fitted by run runID, in forecast_models.
func (w *Warehouse) SaveForecastModel(ctx context.Context, runID string, m *forecast.Model) error {
	if err := w.ensure(ctx, forecastModelsSQL); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("save forecast model: %w", err)
	}
	_, err = w.DB.ExecContext(ctx, `insert or replace into forecast_models values (?, ?, ?, ?, ?)`,
		runID, m.AsOf.Time(), w.Now().UTC(), forecast.Version, string(b))
	if err != nil {
		return fmt.Errorf("save forecast model: %w", err)
	}
	return nil
}

// SavedForecastModel is a model read back from forecast_models.
type SavedForecastModel struct {
	RunID    string
	FittedAt time.Time
	Model    *forecast.Model
}

// LatestForecastModel returns the most recently fitted model of this forecast.Version whose
// as-of date lies in [asOf - maxAgeDays + 1, asOf], or nil when there is none (no table
// yet, no fit that recent, or only fits of another version).
func (w *Warehouse) LatestForecastModel(ctx context.Context, asOf forecast.Day, maxAgeDays int) (*SavedForecastModel, error) {
	var runID, body string
	var fitted time.Time
	err := w.DB.QueryRowContext(ctx, `
		select run_id, fitted_at, cast(model as varchar) from forecast_models
		where version = ? and as_of <= ?::date and as_of > ?::date - ?::integer
		order by as_of desc, fitted_at desc limit 1`,
		forecast.Version, asOf.Time(), asOf.Time(), maxAgeDays).Scan(&runID, &fitted, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		if ok, terr := w.tableExists(ctx, "main", "forecast_models"); terr == nil && !ok {
			return nil, nil // no run has saved a model yet
		}
		return nil, fmt.Errorf("read forecast model: %w", err)
	}
	var m forecast.Model
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil, fmt.Errorf("read forecast model of run %s: %w", runID, err)
	}
	return &SavedForecastModel{RunID: runID, FittedAt: fitted, Model: &m}, nil
}
