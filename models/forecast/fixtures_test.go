package forecast_test

import (
	"hash/fnv"
	"math"
	"slices"
	"sort"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/models/forecast"
)

// plainData builds the models' plain input straight from a generated company, without a
// warehouse: the snapshots of every deal open at each day (training days sampled by a hash
// of the opportunity id when sampleMod > 1; the last day, the forecast date, in full) and
// every deal's outcome. It replays opportunity_history as sql/features does (state, days
// per stage, advances, regressions, pushes, slips, track records), takes the supply share
// from the generator's truth (the warehouse derives the same from inventory) and leaves
// the payment features at zero. It exists for benchmarks and tests of the model part; the
// warehouse path is transform.Warehouse.Snapshots.
func plainData(c *fixtures.Company, days []forecast.Day, sampleMod int) ([]forecast.Snapshot, []forecast.Outcome) {
	asOf := days[len(days)-1]
	day := func(d fixtures.Date) forecast.Day { return forecast.Day(d) }
	type rec struct {
		day forecast.Day
		won bool
	}
	family := make([]string, len(c.Opportunities))
	{
		best := make([]float64, len(c.Opportunities))
		fam := map[int]map[string]float64{}
		for _, l := range c.OpportunityLines {
			i := int(l.Opportunity) - 1
			if fam[i] == nil {
				fam[i] = map[string]float64{}
			}
			f := c.Products[l.Product-1].Family
			fam[i][f] += float64(l.Quantity) * l.ListPrice.Float64()
		}
		for i, m := range fam {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if m[k] > best[i] {
					best[i], family[i] = m[k], k
				}
			}
		}
	}
	short := make([]float64, len(c.Opportunities))
	for _, t := range c.Truth.Opportunities {
		short[int(t.ID)-1] = t.Short
	}
	// Rows of each deal: contiguous in OpportunityHistory.
	start := make([]int, len(c.Opportunities)+1)
	for i := range start {
		start[i] = -1
	}
	for k, h := range c.OpportunityHistory {
		i := int(h.Opportunity) - 1
		if start[i] < 0 {
			start[i] = k
		}
	}
	end := func(i int) int {
		k := start[i]
		for k < len(c.OpportunityHistory) && c.OpportunityHistory[k].Opportunity == c.Opportunities[i].ID {
			k++
		}
		return k
	}
	outcomes := make([]forecast.Outcome, len(c.Opportunities))
	owners := map[string][]rec{}
	accounts := map[string][]rec{}
	var company []rec
	rowsOf := make([][]fixtures.HistoryRow, len(c.Opportunities))
	for i := range c.Opportunities {
		o := &c.Opportunities[i]
		rows := c.OpportunityHistory[start[i]:end(i)]
		rowsOf[i] = rows
		u := c.Users[o.Owner-1]
		oc := forecast.Outcome{OpportunityID: o.ID.String(), CreatedDay: day(rows[0].ValidFrom.Date()),
			Owner: o.Owner.String(), Team: u.Team, Region: u.Region, Family: family[i]}
		if last := rows[len(rows)-1]; last.Stage.IsClosed() {
			oc.ClosedDay = day(last.ValidFrom.Date())
			oc.Won = last.Stage.IsWon()
			oc.Amount = o.Amount.Float64() * c.Rate(o.Currency, o.CloseDate)
			r := rec{oc.ClosedDay, oc.Won}
			owners[oc.Owner] = append(owners[oc.Owner], r)
			accounts[o.Account.String()] = append(accounts[o.Account.String()], r)
			company = append(company, r)
		}
		outcomes[i] = oc
	}
	byDay := func(r []rec) { slices.SortFunc(r, func(a, b rec) int { return int(a.day - b.day) }) }
	for _, r := range owners {
		byDay(r)
	}
	for _, r := range accounts {
		byDay(r)
	}
	byDay(company)
	record := func(r []rec, d forecast.Day) (wins, n float64) {
		k := sort.Search(len(r), func(j int) bool { return r[j].day >= d })
		for _, x := range r[:k] {
			if x.won {
				wins++
			}
		}
		return wins, float64(k)
	}
	companyAt := map[forecast.Day][2]float64{}
	for _, d := range days {
		w, n := record(company, d)
		companyAt[d] = [2]float64{w, n}
	}
	var snaps []forecast.Snapshot
	deals := make([]*forecast.Deal, len(c.Opportunities)) // one per opportunity, shared by its snapshots
	for _, d := range days {
		for i := range c.Opportunities {
			o := &c.Opportunities[i]
			if d != asOf && sampleMod > 1 {
				h := fnv.New32a()
				h.Write([]byte(outcomes[i].OpportunityID))
				if h.Sum32()%uint32(sampleMod) != 0 {
					continue
				}
			}
			rows := rowsOf[i]
			ts := fixtures.Timestamp(int64(d) * 86400)
			if rows[0].ValidFrom >= ts {
				continue
			}
			if last := rows[len(rows)-1]; last.Stage.IsClosed() && last.ValidFrom < ts {
				continue
			}
			if deals[i] == nil {
				deals[i] = &forecast.Deal{OpportunityID: outcomes[i].OpportunityID, CreatedDay: outcomes[i].CreatedDay,
					FirstClose: day(rows[0].CloseDate), Type: o.Type.String(), LeadSource: o.LeadSource,
					Segment: c.Accounts[o.Account-1].Segment, Owner: outcomes[i].Owner, Team: outcomes[i].Team,
					Region: outcomes[i].Region, Account: o.Account.String(), Family: family[i],
					Discount: o.DiscountPct / 100, ShortShare: short[i], UncoveredShare: short[i],
					IsRenewal: o.Type == fixtures.Renewal}
			}
			s := forecast.Snapshot{Deal: deals[i], Day: d}
			var entered fixtures.Timestamp
			for k, r := range rows {
				if r.ValidFrom >= ts {
					break
				}
				to := ts
				if k+1 < len(rows) && rows[k+1].ValidFrom < ts {
					to = rows[k+1].ValidFrom
				}
				if rank := int(r.Stage); rank < forecast.StageRanks && !r.Stage.IsClosed() {
					s.DaysByRank[rank] += float64(to-r.ValidFrom) / 86400
				}
				if k == 0 || r.Stage != rows[k-1].Stage {
					entered = r.ValidFrom
				}
				if k > 0 {
					p := rows[k-1]
					switch {
					case r.Stage > p.Stage:
						s.Advances++
					case r.Stage < p.Stage:
						s.Regressions++
					}
					if r.CloseDate != p.CloseDate {
						if r.ValidFrom.Date() < p.CloseDate {
							s.Pushes++
						} else {
							s.Slips++
							if p.Stage == fixtures.Negotiation {
								s.SlipsTop++
							}
						}
					}
				}
				s.Stage, s.StageRank = r.Stage.String(), int32(r.Stage)
				s.CRMProbability = r.Stage.CRMProbability()
				s.ForecastCategory = r.ForecastCategory.String()
				s.CloseDate = day(r.CloseDate)
				s.Amount = r.Amount.Float64() * c.Rate(o.Currency, r.ValidFrom.Date())
			}
			s.DaysInStage = float64(ts-entered) / 86400
			s.OwnerWins, s.OwnerClosed = record(owners[s.Owner], d)
			s.AccountWins, s.AccountClosed = record(accounts[s.Account], d)
			cw := companyAt[d]
			s.CompanyWins, s.CompanyClosed = cw[0], cw[1]
			s.AccountTenureDays = math.Max(0, float64(d-day(c.Accounts[o.Account-1].CreatedDate)))
			snaps = append(snaps, s)
		}
	}
	return snaps, outcomes
}
