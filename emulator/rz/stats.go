package rz

// Run statistics for --stats: the timings and counters, the process's peak
// RSS, and its peak live heap.

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// statsKeys documents the --stats object, key by key, for --help.
var statsKeys = [][2]string{
	{"wall_seconds", "seconds from start to exit"},
	{"script_seconds", "wall_seconds minus http_seconds"},
	{"http_seconds", "seconds inside http calls, reading bodies included"},
	{"http_requests", "requests the script sent (redirects not counted)"},
	{"http_requests_by_path", "requests per URL path; the segment after each \"device\" segment reads {id}"},
	{"bytes_received", "response body bytes the script got"},
	{"max_rss_bytes", "peak resident set size of the process (depends on GOGC and the number of cores)"},
	{"peak_live_heap_bytes", "largest heap in use after a garbage collection, one more of which runs at exit (independent of GOGC and cores)"},
	{"assets", "assets written to --output, or validated when there is none"},
	{"exit_code", "the exit code"},
}

// writeStats writes the --stats object. It measures the live heap last,
// after the timings, because that takes a full garbage collection.
func (r *run) writeStats(path string, code int) error {
	wall := time.Since(r.start).Seconds()
	var st Stats
	if r.env != nil {
		st = r.env.stats
	}
	httpSecs := float64(st.HTTPNanos) / 1e9
	enc := &encoder{}
	b := &enc.buf
	*b = append(*b, '{')
	num := func(k string, v float64, last bool) {
		*b = appendString(*b, k)
		*b = append(*b, ':')
		*b = fmt.Appendf(*b, "%.6f", v)
		if !last {
			*b = append(*b, ',')
		}
	}
	integer := func(k string, v int64) {
		*b = appendString(*b, k)
		*b = fmt.Appendf(*b, ":%d,", v)
	}
	num("wall_seconds", wall, false)
	num("script_seconds", wall-httpSecs, false)
	num("http_seconds", httpSecs, false)
	integer("http_requests", int64(st.HTTPRequests))
	*b = append(*b, `"http_requests_by_path":{`...)
	keys := make([]string, 0, len(st.ByPath))
	for k := range st.ByPath {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			*b = append(*b, ',')
		}
		*b = appendString(*b, k)
		*b = fmt.Appendf(*b, ":%d", st.ByPath[k])
	}
	*b = append(*b, "},"...)
	integer("bytes_received", st.BytesReceived)
	integer("max_rss_bytes", maxRSS())
	integer("peak_live_heap_bytes", int64(r.heap.final()))
	integer("assets", int64(r.assets))
	*b = fmt.Appendf(*b, `"exit_code":%d}`+"\n", code)
	return os.WriteFile(path, *b, 0o644)
}

// maxRSS is this process's peak resident set size in bytes. It reads VmHWM
// from /proc/self/status: getrusage's ru_maxrss survives execve, so a child
// started by a large parent (Python's subprocess uses vfork) would report the
// parent's peak. getrusage is the fallback where /proc is missing.
func maxRSS() int64 {
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fields := strings.Fields(rest)
				if len(fields) == 2 && fields[1] == "kB" {
					if kib, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
						return kib * 1024
					}
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // Linux reports KiB
}

// heapPeak tracks the largest live heap of a run: the runtime/metrics value
// /gc/heap/live:bytes, the bytes that a garbage collection found reachable.
// Unlike peak RSS it does not grow with GOGC or with the number of cores,
// which only change how much garbage piles up between collections. It reads
// the metric once per collection, from a cleanup on a throwaway object that
// each collection frees, so it never polls.
type heapPeak struct {
	peak    atomic.Uint64
	stopped atomic.Bool
}

// gcTick is the throwaway object. It holds a pointer and is larger than the
// allocator's tiny blocks, so it is never batched with a live object (which
// would keep it, and the cleanup, from running).
type gcTick struct {
	_ *gcTick
	_ [2]uint64
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{}
	h.arm()
	return h
}

func (h *heapPeak) arm() {
	runtime.AddCleanup(new(gcTick), func(h *heapPeak) {
		h.sample()
		if !h.stopped.Load() {
			h.arm()
		}
	}, h)
}

func (h *heapPeak) sample() {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	v := s[0].Value.Uint64()
	for old := h.peak.Load(); v > old && !h.peak.CompareAndSwap(old, v); old = h.peak.Load() {
	}
}

// final collects once more, so that what is still reachable (main's
// returned assets, for an inbound run that peaks as it returns) is measured
// exactly, and returns the peak.
func (h *heapPeak) final() uint64 {
	runtime.GC()
	h.sample()
	return h.peak.Load()
}

// stop ends the per-collection readings.
func (h *heapPeak) stop() { h.stopped.Store(true) }
