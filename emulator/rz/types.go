package rz

// Module runzero.types (v1 members).
//
//	ImportAsset(**kw) -> ImportAsset
//	NetworkInterface(**kw) -> NetworkInterface
//	Software(**kw) -> Software
//	Vulnerability(**kw) -> Vulnerability
//
// Keywords are the runzero-sdk 0.8.8 field aliases (camelCase) and field
// names (snake_case), e.g. osVersion or os_version; see the schemas below.
// Positional arguments and unknown keywords raise. A keyword given None is
// treated as absent. id is required for ImportAsset, Software and
// Vulnerability (ImportAsset also takes an int id and stores str(id)).
//
// The values are mutable and attribute-addressable by their camelCase names:
// asset.customAttributes[k] = v, asset.tags.append(t), asset.lastSeenTS = t
// (lastSeenTS is settable but, as in v1, not a constructor keyword). An
// absent field reads as None. Lists given as tuples are stored as lists.
//
// Each assignment is type-checked (str fields take str, list fields lists,
// timestamps time values, NetworkInterface addresses str or ip_address
// values that parse as one address). As in the SDK, cve is stored upper-case
// and cpe23 and serviceTransport lower-case. Limits, formats and the string-only
// rule for custom attributes are checked when assets are written out, and
// also at construction under --strict; see output.go.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	libtime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

type kind uint8

const (
	kStr      kind = iota // str
	kID                   // str, or int stored as str
	kUUID                 // str holding a UUID
	kTime                 // lib/time time value
	kBool                 // bool
	kInt                  // int
	kFloat                // int or float
	kIP                   // str address or ip_address
	kStrList              // list of str
	kIPList               // list of str address or ip_address
	kAttrs                // dict of str -> str
	kIfaces               // list of NetworkInterface
	kSoftware             // list of Software
	kVulns                // list of Vulnerability
	kServices             // list; v1 has no Service constructor, so only []
)

type field struct {
	camel, snake string
	kind         kind
	max          int     // max chars (strings) or items (lists); 0 = none
	itemMax      int     // max chars per item of a list of str
	lo, hi       float64 // numeric range when ranged
	ranged       bool
	re           *regexp.Regexp
	noCtor       bool // settable attribute only (lastSeenTS)
	required     bool
	notFuture    bool                // firstSeenTS, lastSeenTS
	family       int                 // 4 or 6 for kIPList
	fold         func(string) string // the SDK's case canonicalization (cve upper, cpe23 lower), or nil
}

type schema struct {
	name    string
	fields  []field
	byKw    map[string]int // camel and snake names -> index
	byAttr  map[string]int // camel names -> index
	attrs   []string
	idIndex int
}

func newSchema(name string, fields ...field) *schema {
	s := &schema{name: name, fields: fields, byKw: map[string]int{}, byAttr: map[string]int{}, idIndex: -1}
	for i, f := range fields {
		s.byAttr[f.camel] = i
		s.attrs = append(s.attrs, f.camel)
		if !f.noCtor {
			s.byKw[f.camel] = i
			if f.snake != "" {
				s.byKw[f.snake] = i
			}
		}
		if f.camel == "id" {
			s.idIndex = i
		}
	}
	return s
}

func str(camel, snake string, max int) field {
	return field{camel: camel, snake: snake, kind: kStr, max: max}
}
func strRe(camel string, max int, re string) field {
	return field{camel: camel, kind: kStr, max: max, re: regexp.MustCompile(re)}
}

// folded is f with the SDK's case canonicalization: the value is stored (and checked) as fold
// returns it, as runzero-sdk's models do before validating.
func folded(f field, fold func(string) string) field {
	f.fold = fold
	return f
}
func intRange(camel, snake string, lo, hi float64) field {
	return field{camel: camel, snake: snake, kind: kInt, lo: lo, hi: hi, ranged: true}
}
func floatRange(camel, snake string, lo, hi float64) field {
	return field{camel: camel, snake: snake, kind: kFloat, lo: lo, hi: hi, ranged: true}
}
func ts(camel, snake string) field { return field{camel: camel, snake: snake, kind: kTime} }

const macPattern = `^([A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2}$|^([A-Fa-f0-9]{2}:){7}[A-Fa-f0-9]{2}$|^([A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2}$|^([A-Fa-f0-9]{2}-){7}[A-Fa-f0-9]{2}$|^([A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}$|^([A-Fa-f0-9]{4}\.){3}[A-Fa-f0-9]{4}$|^([A-Fa-f0-9]{4} ){3}[A-Fa-f0-9]{4}$`

// The schemas follow runzero-sdk 0.8.8 (_data_models_gen.py) field by field.
var (
	ifaceSchema = newSchema("NetworkInterface",
		field{camel: "macAddress", snake: "mac_address", kind: kStr, max: 23, re: regexp.MustCompile(macPattern)},
		field{camel: "ipv4Addresses", snake: "ipv4_addresses", kind: kIPList, max: 256, family: 4},
		field{camel: "ipv6Addresses", snake: "ipv6_addresses", kind: kIPList, max: 100, family: 6},
	)
	softwareSchema = newSchema("Software",
		field{camel: "id", kind: kStr, max: 256, required: true},
		field{camel: "serviceAddress", snake: "service_address", kind: kIP},
		folded(str("serviceTransport", "service_transport", 256), strings.ToLower),
		intRange("servicePort", "service_port", 0, 65535),
		folded(strRe("cpe23", 512, `^cpe:/a:.*`), strings.ToLower),
		ts("installedAt", "installed_at"),
		intRange("installedSize", "installed_size", 0, 9223372036854775807),
		str("installedFrom", "installed_from", 256),
		str("vendor", "", 128),
		str("product", "", 128),
		str("version", "", 128),
		str("update", "", 128),
		str("language", "", 128),
		str("softwareEdition", "software_edition", 128),
		str("targetSoftware", "target_software", 128),
		str("targetHardware", "target_hardware", 128),
		str("other", "", 128),
		field{camel: "customAttributes", snake: "custom_attributes", kind: kAttrs},
	)
	vulnSchema = newSchema("Vulnerability",
		field{camel: "id", kind: kStr, max: 256, required: true},
		str("category", "", 256),
		str("name", "", 256),
		str("description", "", 1024),
		str("solution", "", 1024),
		field{camel: "serviceAddress", snake: "service_address", kind: kIP},
		folded(str("serviceTransport", "service_transport", 256), strings.ToLower),
		intRange("servicePort", "service_port", 0, 65535),
		folded(strRe("cpe23", 512, `^cpe:.*`), strings.ToLower),
		folded(strRe("cve", 28, `^CVE-[0-9]{4}-[0-9]{4,19}$`), strings.ToUpper),
		floatRange("cvss2BaseScore", "cvss2_base_score", 0, 10),
		floatRange("cvss2TemporalScore", "cvss2_temporal_score", 0, 10),
		floatRange("cvss3BaseScore", "cvss3_base_score", 0, 10),
		floatRange("cvss3TemporalScore", "cvss3_temporal_score", 0, 10),
		intRange("severityRank", "severity_rank", 0, 4),
		floatRange("severityScore", "severity_score", 0, 10000),
		intRange("riskRank", "risk_rank", 0, 4),
		floatRange("riskScore", "risk_score", 0, 10000),
		field{camel: "exploitable", kind: kBool},
		ts("publishedTS", "published_ts"),
		ts("firstDetectedTS", "first_detected_ts"),
		ts("lastDetectedTS", "last_detected_ts"),
		field{camel: "customAttributes", snake: "custom_attributes", kind: kAttrs},
	)
	assetSchema = newSchema("ImportAsset",
		field{camel: "id", kind: kID, max: 1024, required: true},
		field{camel: "runZeroID", snake: "run_zero_id", kind: kUUID},
		field{camel: "networkInterfaces", snake: "network_interfaces", kind: kIfaces, max: 256},
		field{camel: "hostnames", kind: kStrList, max: 100, itemMax: 260},
		str("domain", "", 260),
		field{camel: "firstSeenTS", snake: "first_seen_ts", kind: kTime, notFuture: true},
		str("os", "", 1024),
		str("osVersion", "os_version", 1024),
		str("manufacturer", "", 1024),
		str("model", "", 1024),
		field{camel: "tags", kind: kStrList, max: 100, itemMax: 1024},
		str("deviceType", "device_type", 1024),
		field{camel: "services", kind: kServices, max: 1000},
		field{camel: "software", kind: kSoftware, max: 1000},
		field{camel: "vulnerabilities", kind: kVulns, max: 1000},
		field{camel: "customAttributes", snake: "custom_attributes", kind: kAttrs},
		field{camel: "trustOS", snake: "trust_os", kind: kBool},
		field{camel: "trustOSVersion", snake: "trust_os_version", kind: kBool},
		field{camel: "trustDeviceType", snake: "trust_device_type", kind: kBool},
		field{camel: "lastSeenTS", kind: kTime, noCtor: true, notFuture: true},
	)
)

func typesModule(e *env) starlark.StringDict {
	return starlark.StringDict{
		"ImportAsset":      constructor(e, assetSchema),
		"NetworkInterface": constructor(e, ifaceSchema),
		"Software":         constructor(e, softwareSchema),
		"Vulnerability":    constructor(e, vulnSchema),
	}
}

func constructor(e *env, s *schema) *starlark.Builtin {
	return starlark.NewBuiltin(s.name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			return nil, fmt.Errorf("%s: got %d positional arguments, want keyword arguments only", s.name, len(args))
		}
		r := &record{s: s, vals: make([]starlark.Value, len(s.fields))}
		var given uint64 // bit i: field i was given (schemas have < 64 fields)
		for k, kv := range kwargs {
			name := string(kv[0].(starlark.String))
			i, ok := s.byKw[name]
			if !ok {
				return nil, fmt.Errorf("%s: unexpected keyword argument %q", s.name, name)
			}
			if given&(1<<i) != 0 {
				first := ""
				for _, prev := range kwargs[:k] {
					if j := s.byKw[string(prev[0].(starlark.String))]; j == i {
						first = string(prev[0].(starlark.String))
					}
				}
				return nil, fmt.Errorf("%s: got multiple values for %q (as %q and %q)", s.name, s.fields[i].camel, first, name)
			}
			given |= 1 << i
			v, err := checkField(s, &s.fields[i], kv[1])
			if err != nil {
				return nil, err
			}
			r.vals[i] = v
		}
		for i, f := range s.fields {
			if f.required && r.vals[i] == nil {
				return nil, fmt.Errorf("%s: missing required argument %q", s.name, f.camel)
			}
		}
		if e.cfg.Strict {
			// Validate now, so the error points at the constructor call.
			e.scratch.strict, e.scratch.now = true, e.now()
			e.scratch.buf = e.scratch.buf[:0]
			if err := e.scratch.record(r); err != nil {
				return nil, err
			}
		}
		return r, nil
	})
}

// checkField type-checks v for field f and returns the value to store
// (nil for None: absent).
func checkField(s *schema, f *field, v starlark.Value) (starlark.Value, error) {
	if v == starlark.None {
		return nil, nil
	}
	bad := func(want string) error {
		return fmt.Errorf("%s: %s: got %s, want %s", s.name, f.camel, v.Type(), want)
	}
	switch f.kind {
	case kStr, kUUID:
		text, ok := v.(starlark.String)
		if !ok {
			return nil, bad("str")
		}
		if f.fold != nil {
			return starlark.String(f.fold(string(text))), nil
		}
	case kID:
		switch x := v.(type) {
		case starlark.String:
		case starlark.Int:
			return starlark.String(x.String()), nil
		default:
			return nil, bad("str or int")
		}
	case kTime:
		if _, ok := v.(libtime.Time); !ok {
			return nil, bad("time (from time.parse_time or time.now)")
		}
	case kBool:
		if _, ok := v.(starlark.Bool); !ok {
			return nil, bad("bool")
		}
	case kInt:
		if _, ok := v.(starlark.Int); !ok {
			return nil, bad("int")
		}
	case kFloat:
		switch v.(type) {
		case starlark.Int, starlark.Float:
		default:
			return nil, bad("float or int")
		}
	case kIP:
		if err := checkIP(v); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", s.name, f.camel, err)
		}
	case kAttrs:
		if _, ok := v.(*starlark.Dict); !ok {
			return nil, bad("dict")
		}
	default: // lists
		var elems []starlark.Value
		switch x := v.(type) {
		case *starlark.List:
			elems = make([]starlark.Value, x.Len())
			for i := range elems {
				elems[i] = x.Index(i)
			}
		case starlark.Tuple:
			elems = append([]starlark.Value(nil), x...)
			v = starlark.NewList(elems)
		default:
			return nil, bad("list")
		}
		for i, el := range elems {
			if err := checkElem(f, el); err != nil {
				return nil, fmt.Errorf("%s: %s[%d]: %v", s.name, f.camel, i, err)
			}
		}
	}
	return v, nil
}

func checkElem(f *field, el starlark.Value) error {
	want := ""
	switch f.kind {
	case kStrList:
		switch el.(type) {
		case starlark.String, starlark.NoneType:
			return nil
		}
		want = "str"
	case kIPList:
		return checkIP(el)
	case kIfaces:
		if r, ok := el.(*record); ok && r.s == ifaceSchema {
			return nil
		}
		want = "NetworkInterface"
	case kSoftware:
		if r, ok := el.(*record); ok && r.s == softwareSchema {
			return nil
		}
		want = "Software"
	case kVulns:
		if r, ok := el.(*record); ok && r.s == vulnSchema {
			return nil
		}
		want = "Vulnerability"
	case kServices:
		return fmt.Errorf("got %s, but this runtime (v1) has no Service type", el.Type())
	}
	return fmt.Errorf("got %s, want %s", el.Type(), want)
}

func checkIP(v starlark.Value) error {
	switch x := v.(type) {
	case ipAddress:
		return nil
	case starlark.String:
		if _, ok := parseIP(string(x)); ok {
			return nil
		}
		return fmt.Errorf("%s is not an IP address", x.String())
	}
	return fmt.Errorf("got %s, want str or ip_address", v.Type())
}

// record is an ImportAsset, NetworkInterface, Software or Vulnerability:
// a schema pointer and one slot per field (nil = absent).
type record struct {
	s      *schema
	vals   []starlark.Value
	frozen bool
}

var _ starlark.HasSetField = (*record)(nil)

func (r *record) Type() string          { return r.s.name }
func (r *record) Truth() starlark.Bool  { return true }
func (r *record) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", r.s.name) }

// AttrNames returns a copy: dir() sorts the slice it gets in place, and the
// schema's list is shared by every record of the type and by every run.
func (r *record) AttrNames() []string { return slices.Clone(r.s.attrs) }

func (r *record) Freeze() {
	if r.frozen {
		return
	}
	r.frozen = true
	for _, v := range r.vals {
		if v != nil {
			v.Freeze()
		}
	}
}

func (r *record) String() string {
	var sb strings.Builder
	sb.WriteString(r.s.name)
	sb.WriteByte('(')
	n := 0
	for i, v := range r.vals {
		if v == nil {
			continue
		}
		if n > 0 {
			sb.WriteString(", ")
		}
		n++
		sb.WriteString(r.s.fields[i].camel)
		sb.WriteByte('=')
		sb.WriteString(v.String())
	}
	sb.WriteByte(')')
	return sb.String()
}

func (r *record) Attr(name string) (starlark.Value, error) {
	i, ok := r.s.byAttr[name]
	if !ok {
		return nil, nil // "has no .name field or method"
	}
	if r.vals[i] == nil {
		return starlark.None, nil
	}
	return r.vals[i], nil
}

func (r *record) SetField(name string, v starlark.Value) error {
	i, ok := r.s.byAttr[name]
	if !ok {
		if j, ok := r.s.byKw[name]; ok {
			return fmt.Errorf("%s has no attribute %q (use %q)", r.s.name, name, r.s.fields[j].camel)
		}
		return fmt.Errorf("%s has no attribute %q", r.s.name, name)
	}
	if r.frozen {
		return fmt.Errorf("cannot set %s.%s: frozen value", r.s.name, name)
	}
	f := &r.s.fields[i]
	if f.required && v == starlark.None {
		return fmt.Errorf("%s: %s is required and cannot be None", r.s.name, name)
	}
	nv, err := checkField(r.s, f, v)
	if err != nil {
		return err
	}
	r.vals[i] = nv
	return nil
}
