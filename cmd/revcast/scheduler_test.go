package main

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a virtual clock: After channels fire only when the test advances time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	cond    *sync.Cond
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{now: t}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.cond.Broadcast()
	return ch
}

// waitForWaiter blocks until the scheduler waits on the clock (it has handled the last tick).
func (c *fakeClock) waitForWaiter() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) == 0 {
		c.cond.Wait()
	}
}

// advance waits until the scheduler is waiting on the clock, then moves time forward by d
// and fires every waiter that is due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) == 0 {
		c.cond.Wait()
	}
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

type recorder struct {
	mu   sync.Mutex
	recs []RunRecord
}

func (r *recorder) record(_ context.Context, rec RunRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

func (r *recorder) snapshot() []RunRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RunRecord(nil), r.recs...)
}

// waitRecords waits (in real time, bounded) until rec holds n records.
func waitRecords(t *testing.T, rec *recorder, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(rec.snapshot()) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d run records, have %+v", n, rec.snapshot())
		}
	}
}

func mustScheduler(t *testing.T, jobs ...JobConfig) *Scheduler {
	t.Helper()
	s, err := newScheduler(jobs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduler_FiresAtCronTimesAndSkipsOverlaps(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 30, 0, time.UTC)
	clock := newFakeClock(t0)
	s := mustScheduler(t, JobConfig{Name: "minutely", Cron: "* * * * *", Command: "run"})
	s.Clock = clock
	rec := &recorder{}
	s.Record = rec.record
	started := make(chan time.Time, 10)
	release := make(chan struct{})
	calls := 0
	s.Exec = func(ctx context.Context, job JobConfig) error {
		calls++
		started <- clock.Now()
		if calls == 1 {
			<-release // the first run is slow: it spans the next due time
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	clock.advance(30 * time.Second) // 00:01:00 → first run starts and blocks
	if at := <-started; !at.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("first run started at %v, want 00:01:00", at)
	}
	clock.advance(time.Minute) // 00:02:00 due while the first still runs → skipped
	clock.waitForWaiter()      // the scheduler has handled 00:02
	close(release)
	waitRecords(t, rec, 2)     // the first run finished and both records were written
	clock.advance(time.Minute) // 00:03:00 → runs
	<-started
	waitRecords(t, rec, 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := rec.snapshot()
	want := []struct {
		at     string
		status string
	}{{"00:01:00", "ok"}, {"00:02:00", "skipped"}, {"00:03:00", "ok"}}
	if len(got) != len(want) {
		t.Fatalf("records = %+v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Scheduled.Format("15:04:05") != w.at || got[i].Status != w.status {
			t.Errorf("record %d = %s %s, want %s %s", i, got[i].Scheduled.Format("15:04:05"), got[i].Status, w.at, w.status)
		}
	}
}

func TestScheduler_ShutdownWaitsForTheRunningJob(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 1, 5, 0, 59, 0, 0, time.UTC))
	s := mustScheduler(t, JobConfig{Name: "hourly", Cron: "@hourly", Command: "extract"})
	s.Clock = clock
	rec := &recorder{}
	s.Record = rec.record
	inJob := make(chan struct{})
	finished := false
	s.Exec = func(ctx context.Context, job JobConfig) error {
		close(inJob)
		<-ctx.Done() // a job stops at its next safe point when the context is cancelled
		time.Sleep(20 * time.Millisecond)
		finished = true
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	clock.advance(time.Minute)
	<-inJob
	cancel() // SIGTERM
	<-done
	if !finished {
		t.Fatal("Run returned before the running job finished")
	}
	got := rec.snapshot()
	if len(got) != 1 || got[0].Status != "cancelled" {
		t.Fatalf("records = %+v, want one cancelled run", got)
	}
}

func TestScheduler_Next(t *testing.T) {
	s := mustScheduler(t,
		JobConfig{Name: "nightly", Cron: "0 2 * * *", Command: "run"},
		JobConfig{Name: "orders", Cron: "*/15 * * * *", Command: "extract"})
	from := time.Date(2026, 1, 5, 1, 40, 0, 0, time.UTC)
	got := s.Next(from, 4)
	want := []string{"01:45 orders", "02:00 nightly", "02:00 orders", "02:15 orders"}
	for i, w := range want {
		if g := got[i].At.Format("15:04") + " " + got[i].Job; g != w {
			t.Errorf("next[%d] = %s, want %s", i, g, w)
		}
	}
}
