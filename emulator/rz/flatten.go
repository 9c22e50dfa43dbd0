package rz

// Module flatten_json.
//
//	flatten(d, sep=".") -> dict
//
// Nested dicts become dotted keys: {"a": {"b": 1}, "c": 2} -> {"a.b": 1, "c": 2}.
// Leaf values keep their type. Lists are leaves (kept as lists, not expanded
// into "a.0" keys), and so is an empty nested dict. Non-str keys are
// converted with str(). Key order follows the input.

import (
	"fmt"

	"go.starlark.net/starlark"
)

func flattenModule() starlark.StringDict {
	return starlark.StringDict{
		"flatten": starlark.NewBuiltin("flatten_json.flatten", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var d *starlark.Dict
			sep := "."
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "d", &d, "sep?", &sep); err != nil {
				return nil, err
			}
			out := starlark.NewDict(d.Len())
			if err := flattenInto(out, "", sep, d, 0); err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
			return out, nil
		}),
	}
}

func flattenInto(out *starlark.Dict, prefix, sep string, d *starlark.Dict, depth int) error {
	if depth > 100 {
		return fmt.Errorf("nesting deeper than 100 levels")
	}
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		key := string(k)
		if !ok {
			key = item[0].String()
		}
		if prefix != "" {
			key = prefix + sep + key
		}
		if sub, ok := item[1].(*starlark.Dict); ok && sub.Len() > 0 {
			if err := flattenInto(out, key, sep, sub, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := out.SetKey(starlark.String(key), item[1]); err != nil {
			return err
		}
	}
	return nil
}
