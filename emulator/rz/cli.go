package rz

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	libjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitScript = 1 // script error, bad return value, strict rejection, I/O error on an output file
	ExitUsage  = 2 // bad command line, unreadable script file
)

// fileOptions is the runZero dialect: while, recursion and set on;
// top-level if/for/while and global reassignment off.
var fileOptions = syntax.FileOptions{
	Set:       true,
	While:     true,
	Recursion: true,
}

type multiFlag []string

func (m *multiFlag) String() string     { return "" }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	filename, output, result, stats, cpuprofile, memprofile, starlarkProfile string
	entry, argsJSON, now, transportErrors, invalidIP                         string
	strict                                                                   bool
	kwargs, routes                                                           multiFlag
}

const usageText = `usage: rzscript --filename FILE [--kwargs key=value]... [--route ORIGIN=URL]...
                [--output FILE] [--strict] [--transport-errors none|abort]
                [--invalid-ip none|abort] [--now RFC3339]
                [--entry NAME --args-json JSON] [--result FILE]
                [--stats FILE] [--cpuprofile FILE] [--memprofile FILE] [--starlark-profile FILE]
`

// flagSet binds every flag to a field of o. Each usage string is the flag's
// line in --help; a `quoted` word in it names the flag's value.
func (o *options) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("rzscript", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // flag's own messages could echo a --kwargs value
	fs.StringVar(&o.filename, "filename", "", "run the script in `FILE` (required)")
	fs.StringVar(&o.filename, "f", "", "short for --filename `FILE`")
	fs.Var(&o.kwargs, "kwargs", "pass `key=value` to main as a str keyword argument (repeatable; split at the first =; the last of a key wins)")
	fs.Var(&o.routes, "route", "with `ORIGIN=URL`, send requests whose URL starts with ORIGIN to URL instead, path and query kept (repeatable)")
	fs.StringVar(&o.output, "output", "", "write the returned assets to `FILE` as JSON lines in runZero's import format")
	fs.BoolVar(&o.strict, "strict", false, "reject what runZero only tolerates and what runzero-sdk validation rejects")
	fs.StringVar(&o.transportErrors, "transport-errors", "none", "`none|abort`: an http call that fails in transport returns None (the default) or aborts the script")
	fs.StringVar(&o.invalidIP, "invalid-ip", "none", "`none|abort`: net.ip_address of a non-address returns None (the default) or aborts the script")
	fs.StringVar(&o.now, "now", "", "make time.now() return the `RFC3339` instant given, on every call")
	fs.StringVar(&o.entry, "entry", "", "call the top-level function `NAME` instead of main, without --kwargs")
	fs.StringVar(&o.argsJSON, "args-json", "", "pass the `JSON` array's items to --entry as positional arguments")
	fs.StringVar(&o.result, "result", "", "write the returned value to `FILE` as one JSON document")
	fs.StringVar(&o.stats, "stats", "", "write run statistics to `FILE` as a JSON object at exit, also on failure (keys below)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a Go CPU profile to `FILE`")
	fs.StringVar(&o.starlarkProfile, "starlark-profile", "", "write a profile by Starlark call stack (go.starlark.net's profiler) to `FILE`")
	fs.StringVar(&o.memprofile, "memprofile", "", "write a Go heap profile to `FILE` at exit")
	return fs
}

// helpText is the synopsis, one line per flag, and the --stats keys.
func helpText(fs *flag.FlagSet) string {
	var names, docs []string
	fs.VisitAll(func(f *flag.Flag) {
		value, doc := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		names = append(names, strings.TrimSpace(dash+f.Name+" "+value))
		docs = append(docs, doc)
	})
	var sb strings.Builder
	sb.WriteString(usageText)
	sb.WriteString("\nFlags (--flag value or --flag=value; one dash works too):\n")
	writeColumns(&sb, names, docs)
	sb.WriteString("\n--stats keys:\n")
	var keys, keyDocs []string
	for _, k := range statsKeys {
		keys, keyDocs = append(keys, k[0]), append(keyDocs, k[1])
	}
	writeColumns(&sb, keys, keyDocs)
	sb.WriteString("\nExit codes: 0 success; 1 script error, bad return value, --strict rejection\n" +
		"or failure writing an output file; 2 usage error.\n")
	return sb.String()
}

// writeColumns writes "  left  right" lines with the right column aligned.
func writeColumns(sb *strings.Builder, left, right []string) {
	width := 0
	for _, l := range left {
		width = max(width, len(l))
	}
	for i, l := range left {
		fmt.Fprintf(sb, "  %-*s  %s\n", width, l, right[i])
	}
}

// parse reads the command line into o. Its errors are usage errors, or
// flag.ErrHelp for -h and --help.
func (o *options) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		// The message names the flag only: flag-provided text could carry
		// a --kwargs value, and none of ours fail on a kwargs value anyway.
		return errors.New(firstLine(err.Error()))
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %d after the flags (values go in --kwargs key=value)", len(args)-fs.NArg()+1)
	}
	if o.filename == "" {
		return errors.New("--filename is required")
	}
	return nil
}

// config checks the flag values and turns them into the run's Config and
// main's keyword arguments.
func (o *options) config() (Config, []starlark.Tuple, error) {
	var cfg Config
	kwargs, err := parseKwargs(o.kwargs)
	if err != nil {
		return cfg, nil, err
	}
	for _, rt := range o.routes {
		origin, target, ok := strings.Cut(rt, "=")
		if !ok || origin == "" || !isHTTPURL(target) {
			return cfg, nil, fmt.Errorf("--route %q: want ORIGIN=URL, URL an absolute http:// or https:// URL", rt)
		}
		cfg.Routes = append(cfg.Routes, Route{Origin: origin, Target: target})
	}
	if cfg.TransportAbort, err = abortMode("--transport-errors", o.transportErrors); err != nil {
		return cfg, nil, err
	}
	if cfg.InvalidIPAbort, err = abortMode("--invalid-ip", o.invalidIP); err != nil {
		return cfg, nil, err
	}
	if o.now != "" {
		t, err := time.Parse(time.RFC3339Nano, o.now)
		if err != nil {
			return cfg, nil, fmt.Errorf("--now %q: want an RFC 3339 time such as 2026-11-28T12:00:00Z", o.now)
		}
		cfg.Now = &t
	}
	if o.entry == "" && o.argsJSON != "" {
		return cfg, nil, errors.New("--args-json needs --entry")
	}
	cfg.Strict = o.strict
	return cfg, kwargs, nil
}

// isHTTPURL reports whether s is an absolute http or https URL: a route
// target that is not would only fail later, as a transport error.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// parseKwargs splits each --kwargs at its first '='. A repeated key keeps
// its first position and its last value. Errors never show a value: it may
// be a secret.
func parseKwargs(list []string) ([]starlark.Tuple, error) {
	kwargs := make([]starlark.Tuple, 0, len(list))
	seen := map[string]int{}
	for i, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--kwargs #%d: want key=value (the value is not shown)", i+1)
		}
		if j, dup := seen[k]; dup {
			kwargs[j][1] = starlark.String(v)
			continue
		}
		seen[k] = len(kwargs)
		kwargs = append(kwargs, starlark.Tuple{starlark.String(k), starlark.String(v)})
	}
	return kwargs, nil
}

// abortMode reads a none|abort flag: true for abort.
func abortMode(flag, value string) (bool, error) {
	switch value {
	case "none":
		return false, nil
	case "abort":
		return true, nil
	}
	return false, fmt.Errorf("%s %q: want none or abort", flag, value)
}

// Main runs the rzscript command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	r := &run{start: time.Now(), stdout: stdout, stderr: stderr, heap: startHeapPeak()}
	defer r.heap.stop()
	var o options
	code := r.main(&o, args)
	if o.stats != "" {
		if err := r.writeStats(o.stats, code); err != nil {
			fmt.Fprintf(stderr, "rzscript: --stats: %v\n", err)
			if code == ExitOK {
				code = ExitScript
			}
		}
	}
	return code
}

type run struct {
	start          time.Time
	stdout, stderr io.Writer
	env            *env
	assets         int
	heap           *heapPeak
	// returned is what the entry function returned, kept reachable until
	// --stats has measured the live heap, of which it is part.
	returned starlark.Value
}

func (r *run) usage(format string, args ...any) int {
	fmt.Fprintf(r.stderr, "rzscript: "+format+"\n", args...)
	fmt.Fprint(r.stderr, usageText)
	return ExitUsage
}

func (r *run) fail(format string, args ...any) int {
	fmt.Fprintf(r.stderr, "rzscript: "+format+"\n", args...)
	return ExitScript
}

// main takes one command line through its phases: flags, setup, running the
// script, then its outputs. Each phase reports its own failure, and main
// returns that phase's exit code.
func (r *run) main(o *options, args []string) int {
	fs := o.flagSet()
	if err := o.parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(r.stdout, helpText(fs))
			return ExitOK
		}
		return r.usage("%v", err)
	}
	cfg, kwargs, err := o.config()
	if err != nil {
		return r.usage("%v", err)
	}
	cfg.Warn = func(s string) { fmt.Fprintf(r.stderr, "rzscript: warning: %s\n", s) }
	stopProfiles, err := r.startProfiles(o)
	if err != nil {
		return r.usage("%v", err)
	}
	defer stopProfiles()
	src, out, err := o.openFiles()
	if err != nil {
		return r.usage("%v", err)
	}
	if out != nil {
		defer out.Close()
	}
	r.env = newEnv(cfg)
	ret, code := r.execute(o, src, kwargs)
	if code != ExitOK {
		return code
	}
	r.returned = ret
	if err := r.outputAssets(o, ret, out); err != nil {
		return r.fail("%s", err)
	}
	if o.result != "" {
		if err := r.writeResult(o.result, ret); err != nil {
			return r.fail("--result: %v", err)
		}
	}
	return ExitOK
}

// startProfiles starts the profilers the flags ask for. The function it
// returns stops them and writes --memprofile, reporting errors on stderr.
func (r *run) startProfiles(o *options) (func(), error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stopCPU := func() error { pprof.StopCPUProfile(); return nil }
	// go.starlark.net's profiler samples per Starlark call stack, so its profile
	// names the script's own functions, where --cpuprofile shows the interpreter.
	for _, p := range []struct {
		flag, path string
		start      func(io.Writer) error
		stop       func() error
	}{
		{"--cpuprofile", o.cpuprofile, pprof.StartCPUProfile, stopCPU},
		{"--starlark-profile", o.starlarkProfile, starlark.StartProfile, starlark.StopProfile},
	} {
		if p.path == "" {
			continue
		}
		stop, err := startProfile(p.path, p.start, p.stop)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("%s: %v", p.flag, err)
		}
		stops = append(stops, func() {
			if err := stop(); err != nil {
				fmt.Fprintf(r.stderr, "rzscript: %s: %v\n", p.flag, err)
			}
		})
	}
	if o.memprofile != "" {
		stops = append(stops, func() {
			if err := writeHeapProfile(o.memprofile); err != nil {
				fmt.Fprintf(r.stderr, "rzscript: --memprofile: %v\n", err)
			}
		})
	}
	return stopAll, nil
}

// openFiles reads the script and creates (truncates) the output files up
// front: a failed run leaves them empty, which reads as "nothing imported".
// out is the open --output file, or nil.
func (o *options) openFiles() (src []byte, out *os.File, err error) {
	if src, err = os.ReadFile(o.filename); err != nil {
		return nil, nil, fmt.Errorf("cannot read script: %v", err)
	}
	if o.output != "" {
		if out, err = os.Create(o.output); err != nil {
			return nil, nil, fmt.Errorf("--output: %v", err)
		}
	}
	if o.result != "" {
		f, err := os.Create(o.result)
		if err != nil {
			if out != nil {
				out.Close()
			}
			return nil, nil, fmt.Errorf("--result: %v", err)
		}
		f.Close()
	}
	return src, out, nil
}

// execute runs the script file and calls its entry function (main with the
// kwargs, or --entry with the --args-json arguments). It returns the
// function's value, or the exit code of a failure it has reported.
func (r *run) execute(o *options, src []byte, kwargs []starlark.Tuple) (starlark.Value, int) {
	stdout := bufio.NewWriterSize(r.stdout, 32<<10)
	defer stdout.Flush()
	thread := &starlark.Thread{
		Name: "main",
		Print: func(_ *starlark.Thread, msg string) {
			stdout.WriteString(msg)
			stdout.WriteByte('\n')
			stdout.Flush()
		},
		Load: r.env.load,
	}
	globals, err := starlark.ExecFileOptions(&fileOptions, thread, o.filename, src, nil)
	if err != nil {
		return nil, r.scriptError(stdout, err)
	}
	name := "main"
	var posArgs starlark.Tuple
	if o.entry != "" {
		name, kwargs = o.entry, nil
		if posArgs, err = entryArgs(thread, o.argsJSON); err != nil {
			return nil, r.usage("%v", err)
		}
	}
	fn, ok := globals[name]
	if !ok {
		return nil, r.fail("%s has no top-level function %s", o.filename, name)
	}
	if _, ok := fn.(starlark.Callable); !ok {
		return nil, r.fail("%s: %s is a %s, not a function", o.filename, name, fn.Type())
	}
	ret, err := starlark.Call(thread, fn, posArgs, kwargs)
	if err != nil {
		return nil, r.scriptError(stdout, err)
	}
	return ret, ExitOK
}

// scriptError reports a failed script on stderr, with the Starlark
// backtrace when there is one, after what the script printed.
func (r *run) scriptError(stdout *bufio.Writer, err error) int {
	stdout.Flush()
	var evalErr *starlark.EvalError
	if errors.As(err, &evalErr) {
		fmt.Fprintln(r.stderr, evalErr.Backtrace())
	} else {
		fmt.Fprintln(r.stderr, err)
	}
	return ExitScript
}

// entryArgs decodes --args-json with the script's own json.decode, so the
// arguments are the values a script would get from the same text.
func entryArgs(thread *starlark.Thread, argsJSON string) (starlark.Tuple, error) {
	if argsJSON == "" {
		return nil, nil
	}
	v, err := starlark.Call(thread, libjson.Module.Members["decode"], starlark.Tuple{starlark.String(argsJSON)}, nil)
	if err != nil {
		return nil, fmt.Errorf("--args-json: invalid JSON: %v", err)
	}
	l, ok := v.(*starlark.List)
	if !ok {
		return nil, fmt.Errorf("--args-json: want a JSON array, got %s", v.Type())
	}
	args := make(starlark.Tuple, l.Len())
	for i := range args {
		args[i] = l.Index(i)
	}
	return args, nil
}

// outputAssets checks what main returned and writes it to --output, or only
// validates it when there is no --output, so that a run fails the same way
// either way. An --entry function may return anything: --output then gets
// its value only when that is a list of assets.
func (r *run) outputAssets(o *options, ret starlark.Value, out *os.File) error {
	assets, err := assetList(ret)
	switch {
	case err != nil && o.entry != "":
		return nil
	case err != nil:
		return err
	case out != nil:
		return r.writeAssets(out, assets)
	case o.entry == "":
		return r.encodeAssets(assets, nil)
	}
	return nil
}

// writeResult writes the returned value as one JSON document.
func (r *run) writeResult(path string, ret starlark.Value) error {
	enc := &encoder{strict: r.env.cfg.Strict, now: r.env.now()}
	if err := enc.value(ret, 0); err != nil {
		return err
	}
	enc.buf = append(enc.buf, '\n')
	return os.WriteFile(path, enc.buf, 0o644)
}

// assetList checks main's return value: None or a list of ImportAsset.
func assetList(v starlark.Value) ([]*record, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case *starlark.List:
		out := make([]*record, x.Len())
		for i := range out {
			r, ok := x.Index(i).(*record)
			if !ok || r.s != assetSchema {
				return nil, fmt.Errorf("main returned a list whose item %d is %s; want a list of ImportAsset or None", i, x.Index(i).Type())
			}
			out[i] = r
		}
		return out, nil
	}
	return nil, fmt.Errorf("main returned %s; want a list of ImportAsset or None", v.Type())
}

// writeAssets streams the assets to out as JSON lines. On failure it
// empties out: a half-written file would read as a partial import.
func (r *run) writeAssets(out *os.File, assets []*record) error {
	w := bufio.NewWriterSize(out, 256<<10)
	err := r.encodeAssets(assets, w)
	if err == nil {
		if err = w.Flush(); err != nil {
			err = fmt.Errorf("--output: %v", err)
		}
	}
	if err != nil {
		out.Truncate(0)
	}
	return err
}

// encodeAssets validates every asset and, when w is not nil, writes each as
// one JSON line, so that a run fails the same way with or without --output.
// An asset with a future timestamp is dropped with a warning, as runZero does.
func (r *run) encodeAssets(assets []*record, w *bufio.Writer) error {
	enc := &encoder{strict: r.env.cfg.Strict, now: r.env.now(), dropFuture: true}
	for i, a := range assets {
		enc.buf = enc.buf[:0]
		if err := enc.record(a); err != nil {
			var fe *errFuture
			if errors.As(err, &fe) {
				r.env.warn("asset %d dropped: %s", i, fe.msg)
				continue
			}
			return fmt.Errorf("asset %d: %v", i, err)
		}
		if w != nil {
			enc.buf = append(enc.buf, '\n')
			if _, err := w.Write(enc.buf); err != nil {
				return fmt.Errorf("--output: %v", err)
			}
		}
		r.assets++
	}
	return nil
}

// startProfile creates path and starts a profiler writing to it; the stop it
// returns ends the profile and closes the file.
func startProfile(path string, start func(io.Writer) error, stop func() error) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		err := stop()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
