package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"time"
)

// fleet is a scenario's connections, held by this process or spread over
// worker processes.
type fleet interface {
	// finish ends the measured phase and returns the merged counts; the
	// connections are closed when it returns.
	finish(ctx context.Context, fin shareFinish) (shareResult, error)
	// close closes the connections (or ends the workers) if finish was not
	// called; it is safe to call after finish.
	close()
}

// openFleet opens job.Clients connections: in this process, or spread
// over Procs workers that each dial from their own loopback source address.
// It returns once every connection has had hello, with their connect
// latencies.
func (r *run) openFleet(ctx context.Context, job shareJob) (fleet, Histogram, error) {
	job.URL, job.Parallel = r.cfg.URL, r.cfg.Parallel
	if r.cfg.Procs <= 1 {
		s, ready, err := openShare(ctx, job)
		if err != nil {
			return nil, Histogram{}, err
		}
		return localFleet{s}, ready.Connect, nil
	}
	return r.openWorkers(ctx, job)
}

// openWorkers starts Procs workers, sends each its part of job and waits
// for every one's ready. On error every started worker is stopped.
func (r *run) openWorkers(ctx context.Context, job shareJob) (*spreadFleet, Histogram, error) {
	sf := &spreadFleet{}
	type started struct {
		ready shareReady
		err   error
	}
	results := make([]started, r.cfg.Procs)
	var wg sync.WaitGroup
	for i, part := range r.spreadJob(job) {
		w, err := r.startWorker(ctx, i)
		if err != nil {
			sf.close() // the started workers exit, and their opens return
			wg.Wait()
			return nil, Histogram{}, err
		}
		sf.workers = append(sf.workers, w)
		r.log.Info("worker started", "worker", i, "pid", w.cmd.Process.Pid, "clients", part.Clients, "source", part.Source)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].ready, results[i].err = w.open(part)
		}()
	}
	wg.Wait()
	var connect Histogram
	var errs []error
	for i, s := range results {
		if s.err != nil {
			errs = append(errs, fmt.Errorf("worker %d: %w", i, s.err))
		}
		connect.Merge(s.ready.Connect)
	}
	if err := errors.Join(errs...); err != nil {
		sf.close()
		return nil, Histogram{}, err
	}
	return sf, connect, nil
}

// spreadJob splits job over Procs workers: worker i gets a contiguous
// range of the connections (as even as can be), as many of fanout's stuck
// connections, and, when the server is on loopback, the source address
// 127.0.0.(2+i).
func (r *run) spreadJob(job shareJob) []shareJob {
	parts := make([]shareJob, r.cfg.Procs)
	loopback := isLoopback(r.cfg.URL)
	even := func(n, i int) int { // worker i's part of n
		if i < n%r.cfg.Procs {
			return n/r.cfg.Procs + 1
		}
		return n / r.cfg.Procs
	}
	offset := 0
	for i := range parts {
		part := job
		part.Offset = offset
		part.Clients = even(job.Clients, i)
		part.Stuck = even(job.Stuck, i)
		offset += part.Clients
		if loopback {
			part.Source = fmt.Sprintf("127.0.0.%d", 2+i)
		}
		parts[i] = part
	}
	return parts
}

// isLoopback reports whether the server's URL names a loopback host, which
// can be reached from any 127.0.0.0/8 source address.
func isLoopback(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

type localFleet struct{ s *share }

func (f localFleet) finish(ctx context.Context, fin shareFinish) (shareResult, error) {
	return f.s.finish(ctx, fin)
}

func (f localFleet) close() { f.s.close() }

// spreadFleet is connections held by worker processes.
type spreadFleet struct {
	workers []*worker
}

func (f *spreadFleet) finish(ctx context.Context, fin shareFinish) (shareResult, error) {
	defer f.close()
	rs := make([]shareResult, len(f.workers))
	errs := make([]error, len(f.workers))
	var wg sync.WaitGroup
	for i, w := range f.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs[i], errs[i] = w.finish(fin)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, errs[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return shareResult{}, err
	}
	return mergeResults(rs), nil
}

func (f *spreadFleet) close() {
	for _, w := range f.workers {
		w.stop()
	}
}

// workerMsg is one line a worker writes on its stdout.
type workerMsg struct {
	Ready  *shareReady  `json:"ready,omitempty"`
	Result *shareResult `json:"result,omitempty"`
	// A storm worker's answers (see stormCmd).
	Watching  bool            `json:"watching,omitempty"`
	Dropped   *stormDropped   `json:"dropped,omitempty"`
	Recovered *stormRecovered `json:"recovered,omitempty"`
	Storm     *stormCounts    `json:"storm,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// errParentGone ends a worker whose stdin ended before the last command.
var errParentGone = errors.New("the parent went away before finish")

// worker is a child process holding a share of the connections. The
// parent writes a shareJob and later a shareFinish on its stdin, one JSON
// value each; it answers each with a workerMsg on stdout.
type worker struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	enc  *json.Encoder
	dec  *json.Decoder
	once sync.Once
}

// startWorker starts worker i: Config.WorkerCommand, by default this
// executable with "worker". It is killed when ctx ends, and (on
// Linux) when this process dies.
func (r *run) startWorker(ctx context.Context, i int) (*worker, error) {
	argv := r.cfg.WorkerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		argv = []string{exe, "worker"}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = r.cfg.WorkerStderr
	cmd.WaitDelay = 5 * time.Second
	killWithParent(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("worker %d: %w", i, err)
	}
	return &worker{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(bufio.NewReader(out))}, nil
}

// open sends the job and waits for the worker's ready.
func (w *worker) open(job shareJob) (shareReady, error) {
	if err := w.send(job); err != nil {
		return shareReady{}, err
	}
	m, err := w.read()
	if err != nil {
		return shareReady{}, err
	}
	if m.Ready == nil {
		return shareReady{}, errors.New("worker answered the job without ready")
	}
	return *m.Ready, nil
}

// finish sends fin and waits for the result.
func (w *worker) finish(fin shareFinish) (shareResult, error) {
	if err := w.send(fin); err != nil {
		return shareResult{}, err
	}
	m, err := w.read()
	if err != nil {
		return shareResult{}, err
	}
	if m.Result == nil {
		return shareResult{}, errors.New("worker answered finish without a result")
	}
	return *m.Result, nil
}

// send writes one JSON value on the worker's stdin.
func (w *worker) send(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("writing to worker: %w", err)
	}
	return nil
}

func (w *worker) read() (workerMsg, error) {
	var m workerMsg
	if err := w.dec.Decode(&m); err != nil {
		return m, fmt.Errorf("reading from worker: %w", err)
	}
	if m.Error != "" {
		return m, errors.New(m.Error)
	}
	return m, nil
}

// stop closes the worker's stdin (it then closes its connections and
// exits) and waits for it; it is killed if it does not exit in time.
func (w *worker) stop() {
	w.once.Do(func() {
		w.in.Close()
		done := make(chan struct{})
		go func() {
			w.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			w.cmd.Process.Kill()
			<-done
		}
	})
}

// Worker is the child side of a spread run ("confab-bench worker"): it
// reads a share job from in, opens its connections, writes ready to out,
// waits for finish, writes its result and returns; a storm job has more
// steps (drop, recovered; see stormCmd). It gives up when in ends early
// (the parent is gone) or ctx ends.
func Worker(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	fail := func(err error) error {
		enc.Encode(workerMsg{Error: err.Error()})
		return err
	}
	var job shareJob
	if err := dec.Decode(&job); err != nil {
		return fail(fmt.Errorf("reading the job: %w", err))
	}
	if job.Kind == "storm" {
		if err := stormWorker(ctx, cancel, dec, enc, job); err != nil {
			return fail(err)
		}
		return nil
	}
	finCh := make(chan shareFinish, 1)
	gone := make(chan struct{})
	go func() { // the next value is finish; EOF means the parent is gone
		var fin shareFinish
		if err := dec.Decode(&fin); err != nil {
			close(gone)
			cancel()
			return
		}
		finCh <- fin
	}()
	s, ready, err := openShare(ctx, job)
	if err != nil {
		select {
		case <-gone: // the cancellation came from there
			return fail(errParentGone)
		default:
			return fail(err)
		}
	}
	defer s.close()
	if err := enc.Encode(workerMsg{Ready: &ready}); err != nil {
		return err
	}
	var fin shareFinish
	select {
	case <-ctx.Done():
		return fail(errParentGone)
	case fin = <-finCh:
	}
	res, err := s.finish(ctx, fin)
	if err != nil {
		return fail(err)
	}
	return enc.Encode(workerMsg{Result: &res})
}
