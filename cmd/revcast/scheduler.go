package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Clock is the scheduler's view of time; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// cronParser accepts five-field specs and descriptors such as @hourly, as config
// validation does.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// scheduledJob is a config job with its parsed schedule.
type scheduledJob struct {
	JobConfig
	schedule cron.Schedule
}

// RunRecord is one row of meta.runs: a job that ran, failed or was skipped.
type RunRecord struct {
	Job       string
	Command   string
	Scheduled time.Time // the cron time it was due
	Started   time.Time
	Ended     time.Time
	Status    string // ok, failed, skipped or cancelled (stopped by SIGINT/SIGTERM)
	Error     string
}

// Scheduler runs jobs at their cron times, never two at once: a job that comes due while
// another runs is skipped and recorded as skipped (catching up later would stack work up
// behind a slow run; the next due time runs normally).
type Scheduler struct {
	Jobs   []scheduledJob
	Clock  Clock
	Logger *slog.Logger
	// Exec runs one job; it must hold the pipeline lock while it works.
	Exec func(ctx context.Context, job JobConfig) error
	// Record stores a run record; errors are logged, not fatal.
	Record func(ctx context.Context, r RunRecord) error
}

// newScheduler parses the config's jobs.
func newScheduler(jobs []JobConfig) (*Scheduler, error) {
	s := &Scheduler{Clock: realClock{}, Logger: slog.New(slog.DiscardHandler)}
	for _, j := range jobs {
		sch, err := cronParser.Parse(j.Cron)
		if err != nil {
			return nil, fmt.Errorf("job %s: cron %q: %w", j.Name, j.Cron, err)
		}
		s.Jobs = append(s.Jobs, scheduledJob{JobConfig: j, schedule: sch})
	}
	return s, nil
}

// PlannedRun is a future firing of a job.
type PlannedRun struct {
	Job string
	At  time.Time
}

// Next returns the next n firings across all jobs after from, in time order.
func (s *Scheduler) Next(from time.Time, n int) []PlannedRun {
	var out []PlannedRun
	for _, j := range s.Jobs {
		t := from
		for range n {
			t = j.schedule.Next(t)
			if t.IsZero() {
				break
			}
			out = append(out, PlannedRun{Job: j.Name, At: t})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At.Before(out[b].At) })
	return out[:min(n, len(out))]
}

// Run loops until ctx is cancelled. On cancellation it waits for the running job, which
// sees the cancelled context and stops at its next safe point (the extractor finishes or
// abandons the current page and commits nothing half-landed).
func (s *Scheduler) Run(ctx context.Context) error {
	if len(s.Jobs) == 0 {
		return errors.New("no jobs under schedule.jobs in the config")
	}
	next := make([]time.Time, len(s.Jobs))
	now := s.Clock.Now()
	for i, j := range s.Jobs {
		next[i] = j.schedule.Next(now)
	}
	var (
		mu      sync.Mutex
		running string
		pending []RunRecord // records waiting until no job holds the warehouse
		wg      sync.WaitGroup
	)
	flush := func() {
		mu.Lock()
		recs := pending
		pending = nil
		mu.Unlock()
		sort.SliceStable(recs, func(a, b int) bool { return recs[a].Scheduled.Before(recs[b].Scheduled) })
		for _, r := range recs {
			s.record(context.WithoutCancel(ctx), r)
		}
	}
	defer flush()
	defer wg.Wait()
	for {
		i := 0
		for k := range next {
			if next[k].Before(next[i]) {
				i = k
			}
		}
		wait := next[i].Sub(s.Clock.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-s.Clock.After(max(wait, 0)):
		}
		due, job := next[i], s.Jobs[i]
		next[i] = job.schedule.Next(due)

		mu.Lock()
		busy := running
		if busy == "" {
			running = job.Name
		} else {
			now := s.Clock.Now()
			pending = append(pending, RunRecord{Job: job.Name, Command: job.Command, Scheduled: due, Started: now,
				Ended: now, Status: "skipped", Error: "job " + busy + " was still running"})
		}
		mu.Unlock()
		if busy != "" {
			s.Logger.Warn("job skipped: another job is running", "job", job.Name, "running", busy, "due", due)
			continue
		}
		r := RunRecord{Job: job.Name, Command: job.Command, Scheduled: due, Started: s.Clock.Now(), Status: "ok"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Logger.Info("job started", "job", job.Name, "command", job.Command)
			if err := s.Exec(ctx, job.JobConfig); err != nil && ctx.Err() != nil {
				r.Status, r.Error = "cancelled", err.Error()
				s.Logger.Warn("job stopped by shutdown", "job", job.Name, "err", err)
			} else if err != nil {
				r.Status, r.Error = "failed", err.Error()
				s.Logger.Error("job failed", "job", job.Name, "err", err)
			} else {
				s.Logger.Info("job finished", "job", job.Name)
			}
			r.Ended = s.Clock.Now()
			// Records are written before the job counts as finished, so no other job holds
			// the warehouse while they are written.
			mu.Lock()
			pending = append(pending, r)
			mu.Unlock()
			flush()
			mu.Lock()
			running = ""
			mu.Unlock()
		}()
	}
}

func (s *Scheduler) record(ctx context.Context, r RunRecord) {
	if s.Record == nil {
		return
	}
	if err := s.Record(ctx, r); err != nil {
		s.Logger.Error("could not record the run", "job", r.Job, "status", r.Status, "err", err)
	}
}
