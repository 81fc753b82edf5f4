package transform

import (
	"context"
	"fmt"
	"strings"
)

// previousColumns lists, per model whose previous build a model compares with, the columns
// kept. Before Build replaces such a table it copies these columns of the table it is about
// to replace into meta.<name>_previous, so the model can say what changed since the previous
// build (order_status_updates reads meta.order_status_updates_previous). Before the first
// build meta.<name>_previous is created empty with these columns.
var previousColumns = map[string][]string{
	"order_status_updates": {"opportunity_id varchar", "order_id varchar", "erp_status varchar", "status_date date", "tracking_numbers varchar", "as_of date"},
}

// keepPrevious saves the columns listed in previousColumns of m's current table as
// meta.<name>_previous; it does nothing for other models.
func (w *Warehouse) keepPrevious(ctx context.Context, m Model) error {
	cols, ok := previousColumns[m.Name]
	if !ok {
		return nil
	}
	prev := ident(m.Name + "_previous")
	exists, err := w.tableExists(ctx, m.Schema, m.Name)
	if err != nil {
		return err
	}
	if !exists {
		if err := w.exec(ctx, fmt.Sprintf(`create table if not exists meta.%s (%s)`, prev, strings.Join(cols, ", "))); err != nil {
			return fmt.Errorf("model %s: previous build: %w", m.Name, err)
		}
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		name, typ, _ := strings.Cut(c, " ")
		names[i] = fmt.Sprintf("cast(%s as %s) as %s", ident(name), typ, ident(name))
	}
	q := fmt.Sprintf(`create or replace table meta.%s as select %s from %s.%s`, prev, strings.Join(names, ", "), m.Schema, ident(m.Name))
	if err := w.exec(ctx, q); err != nil {
		return fmt.Errorf("model %s: keep the previous build in meta.%s: %w", m.Name, m.Name+"_previous", err)
	}
	return nil
}
