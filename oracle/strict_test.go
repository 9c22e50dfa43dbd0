package oracle

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The decoders are the oracle's own judgement; these cases show that each rule
// bites, so that a clean fixture run means something.
func TestDecodeDevice(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"API spellings", `{"nodeId":"n1","advertisedRoutes":["10.0.0.0/8"],"multipleConnections":true,
			"clientConnectivity":{"latency":{"Frankfurt":{"preferred":true,"latencyMs":1.5}},"clientSupports":{"hairPinning":null}}}`, ""},
		{"unknown field", `{"nodeId":"n1","lastSeenAt":"2026-01-01T00:00:00Z"}`, `unknown field "lastSeenAt"`},
		{"case-folded key", `{"NodeID":"n1"}`, `NodeID: the API spells this field "nodeId"`},
		{"client's tag spelling", `{"AdvertisedRoutes":[]}`, `the API spells this field "advertisedRoutes"`},
		{"nested case-folded key", `{"clientConnectivity":{"clientSupports":{"IPv6":true}}}`, `clientConnectivity.clientSupports.IPv6:`},
		{"case-folded key inside a map value", `{"clientConnectivity":{"latency":{"Paris":{"LatencyMS":3}}}}`, `clientConnectivity.latency.Paris.LatencyMS:`},
		{"allow-listed field sent as false", `{"multipleConnections":false}`, `multipleConnections is false`},
		{"wrong type", `{"tags":"tag:x"}`, `Device.tags`},
		{"not an object", `["n1"]`, `not a JSON object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			device, err := DecodeDevice(json.RawMessage(tc.body))
			checkErr(t, err, tc.wantErr)
			if tc.wantErr == "" && !slices.Equal(device.AdvertisedRoutes, []string{"10.0.0.0/8"}) {
				t.Errorf("advertisedRoutes decoded as %q", device.AdvertisedRoutes)
			}
		})
	}
}

func TestDecodePosture(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"scalars and an expiry", `{"attributes":{"node:os":"linux","falcon:ztaScore":80,"node:tsAutoUpdate":true},
			"expiries":{"falcon:ztaScore":"2026-11-28T12:14:07.511Z"}}`, ""},
		{"no expiries key", `{"attributes":{"ip:country":"US"}}`, ""},
		{"object value", `{"attributes":{"custom:x":{"value":1}}}`, `attributes.custom:x is {"value":1}`},
		{"null value", `{"attributes":{"custom:x":null}}`, `attributes.custom:x is null`},
		{"unknown field", `{"attributes":{},"values":{}}`, `unknown field "values"`},
		{"case-folded key", `{"Attributes":{}}`, `Attributes: the API spells this field "attributes"`},
		{"bad expiry", `{"attributes":{},"expiries":{"custom:x":"soon"}}`, `cannot parse`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePosture(json.RawMessage(tc.body))
			checkErr(t, err, tc.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("rejected: %v", err)
	case want != "" && err == nil:
		t.Errorf("accepted; want an error containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}
