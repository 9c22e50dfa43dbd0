package rz

// Module time: go.starlark.net lib/time, built per run.
//
//	now() -> time                      the run's clock: --now when given, else the real time
//	parse_time(x, format=RFC3339, location="UTC") -> time   raises on input it cannot parse
//	parse_duration(d) -> duration      Go syntax, negative allowed ("-720h")
//	from_timestamp(sec, nsec=0), time(...), is_valid_timezone(name),
//	nanosecond ... hour                 as in lib/time
//
// There is no sleep (v2 only). Everything except now is lib/time's own
// member; now is replaced by a builtin that reads the run's clock, so no
// global (lib/time.NowFunc) is touched.

import (
	libtime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

func timeModule(e *env) starlark.StringDict {
	m := make(starlark.StringDict, len(libtime.Module.Members))
	for k, v := range libtime.Module.Members {
		m[k] = v
	}
	m["now"] = starlark.NewBuiltin("now", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
			return nil, err
		}
		return libtime.Time(e.now()), nil
	})
	return m
}
