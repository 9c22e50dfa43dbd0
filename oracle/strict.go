package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	tailscale "tailscale.com/client/tailscale/v2"
)

// documentedButAbsent lists device fields that Tailscale's published API
// schema documents but tailscale.com/client/tailscale/v2 has no struct field
// for. Strict decoding would reject them, so each is checked here against what
// its documentation says and then removed before the strict decode. Add an
// entry only with a citation; a field that Tailscale does not document is an
// invented field and must fail.
var documentedButAbsent = map[string]func(json.RawMessage) error{
	// OpenAPI Device schema (api.tailscale.com/api/v2?outputOpenapiSchema=true,
	// vendored in tailscale-client-go-v2 at tools/openapi/spec/): true when
	// several devices use one node key; only with fields=all, and omitted
	// unless true, so false is never sent.
	"multipleConnections": func(raw json.RawMessage) error {
		if string(bytes.TrimSpace(raw)) != "true" {
			return fmt.Errorf("is %s, but the API omits it unless it is true", raw)
		}
		return nil
	},
}

// apiSpelling maps a json tag of the client to the key the API actually sends
// where the two differ. Device.AdvertisedRoutes is tagged "AdvertisedRoutes",
// but the API schema (and the same client's DeviceRoutes type) spells it
// "advertisedRoutes"; the client only reads it because encoding/json folds case.
var apiSpelling = map[string]string{
	"AdvertisedRoutes": "advertisedRoutes",
}

// DecodeDevice decodes one device object of a `fields=all` listing the way the
// client would, but rejects what the client would silently accept: keys it has
// no field for, keys in a case other than the API's, and values of the wrong
// JSON type. The error names every bad field it finds.
func DecodeDevice(raw json.RawMessage) (tailscale.Device, error) {
	var device tailscale.Device
	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil || object == nil {
		return device, fmt.Errorf("not a JSON object: %.60s", raw)
	}
	var problems []error
	for _, key := range slices.Sorted(maps.Keys(documentedButAbsent)) {
		value, ok := object[key]
		if !ok {
			continue
		}
		if err := documentedButAbsent[key](value); err != nil {
			problems = append(problems, fmt.Errorf("%s %w", key, err))
		}
		delete(object, key)
	}
	rest, err := json.Marshal(object)
	if err != nil {
		return device, err
	}
	problems = append(problems, decodeStrict(rest, &device)...)
	return device, errors.Join(problems...)
}

// DecodePosture decodes one body of GET /device/{id}/attributes as strictly as
// DecodeDevice does a device. It also requires every attribute value to be a
// string, number or boolean, as the API schema's DevicePostureAttributes says;
// the client's map[string]any would take an object or null as well.
func DecodePosture(raw json.RawMessage) (tailscale.DevicePostureAttributes, error) {
	var posture tailscale.DevicePostureAttributes
	problems := decodeStrict(raw, &posture)
	var values struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	if json.Unmarshal(raw, &values) == nil {
		for _, key := range slices.Sorted(maps.Keys(values.Attributes)) {
			switch v := bytes.TrimSpace(values.Attributes[key]); {
			case len(v) == 0, v[0] == '{', v[0] == '[', string(v) == "null":
				problems = append(problems, fmt.Errorf("attributes.%s is %.60s, not a string, number or boolean", key, v))
			}
		}
	}
	return posture, errors.Join(problems...)
}

// DecodeServiceList decodes one body of GET /tailnet/{tailnet}/vip-services as
// strictly as DecodeDevice does a device: into the client's Service type, with
// no key it lacks, in the API's spelling. A null list is what Go itself sends
// for an empty one.
func DecodeServiceList(raw json.RawMessage) ([]tailscale.Service, error) {
	var list struct {
		Services []tailscale.Service `json:"vipServices"`
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil || object == nil {
		return nil, fmt.Errorf("not a JSON object: %.60s", raw)
	}
	if _, ok := object["vipServices"]; !ok {
		return nil, fmt.Errorf("no \"vipServices\" key: %.60s", raw)
	}
	return list.Services, errors.Join(decodeStrict(raw, &list)...)
}

// decodeStrict decodes into out with unknown fields disallowed, and adds the
// check DisallowUnknownFields lacks: encoding/json matches keys to fields
// case-insensitively, so "NodeID" or "ADDRESSES" would pass as known fields.
func decodeStrict(raw []byte, out any) []error {
	problems := keyCase("", raw, reflect.TypeOf(out).Elem())
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		problems = append(problems, err)
	} else if dec.More() {
		problems = append(problems, errors.New("data after the JSON value"))
	}
	return problems
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// keyCase reports object keys in raw that name a field of t (at any depth) in
// a spelling other than the API's. Keys that match no field, and values of the
// wrong type, are left to the strict decoder, which reports them.
func keyCase(path string, raw []byte, t reflect.Type) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	var problems []error
	switch t.Kind() {
	case reflect.Struct:
		var object map[string]json.RawMessage
		if json.Unmarshal(raw, &object) != nil {
			return nil
		}
		for _, key := range slices.Sorted(maps.Keys(object)) {
			field, exact := fieldForKey(t, key)
			switch {
			case field == nil:
			case exact:
				problems = append(problems, keyCase(path+key+".", object[key], field.Type)...)
			default:
				problems = append(problems, fmt.Errorf("%s%s: the API spells this field %q", path, key, apiName(*field)))
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		prefix := strings.TrimSuffix(path, ".")
		for i, item := range items {
			problems = append(problems, keyCase(fmt.Sprintf("%s[%d].", prefix, i), item, t.Elem())...)
		}
	case reflect.Map:
		var object map[string]json.RawMessage
		if json.Unmarshal(raw, &object) != nil {
			return nil
		}
		for _, key := range slices.Sorted(maps.Keys(object)) {
			problems = append(problems, keyCase(path+key+".", object[key], t.Elem())...)
		}
	}
	return problems
}

// fieldForKey finds the field of struct type t that encoding/json would fill
// from key, and whether key is the API's exact spelling of it. The client's
// types embed no structs, so promoted fields need no handling.
func fieldForKey(t reflect.Type, key string) (*reflect.StructField, bool) {
	var folded *reflect.StructField
	for i := range t.NumField() {
		field := t.Field(i)
		name := apiName(field)
		if !field.IsExported() || name == "" {
			continue
		}
		if name == key {
			return &field, true
		}
		if folded == nil && strings.EqualFold(name, key) {
			folded = &field
		}
	}
	return folded, false
}

// apiName is the key the API uses for a struct field ("" for a field json skips).
func apiName(field reflect.StructField) string {
	tag, _, _ := strings.Cut(field.Tag.Get("json"), ",")
	switch tag {
	case "-":
		return ""
	case "":
		tag = field.Name
	}
	if spelled, ok := apiSpelling[tag]; ok {
		return spelled
	}
	return tag
}
