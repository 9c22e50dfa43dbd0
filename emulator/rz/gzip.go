package rz

// Module gzip.
//
//	compress(x) -> bytes     x is str or bytes; usable directly as body=
//	decompress(x) -> str     x is str or bytes (e.g. a response body); the
//	                         decompressed bytes are returned in a str so that
//	                         json.decode and string methods work on them.
//	                         Input that is not gzip raises.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"go.starlark.net/starlark"
)

func gzipModule() starlark.StringDict {
	return starlark.StringDict{
		"compress": starlark.NewBuiltin("gzip.compress", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			s, err := stringOrBytesArg(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			if _, err := io.WriteString(w, s); err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
			if err := w.Close(); err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
			return starlark.Bytes(buf.String()), nil
		}),
		"decompress": starlark.NewBuiltin("gzip.decompress", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			s, err := stringOrBytesArg(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			r, err := gzip.NewReader(strings.NewReader(s))
			if err != nil {
				return nil, fmt.Errorf("%s: invalid gzip input: %v", b.Name(), err)
			}
			var out strings.Builder
			if _, err := io.Copy(&out, r); err != nil {
				return nil, fmt.Errorf("%s: invalid gzip input: %v", b.Name(), err)
			}
			return starlark.String(out.String()), nil
		}),
	}
}
