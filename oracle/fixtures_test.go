package oracle

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fixtureLine is one line of the harness's fixture lister: a well-formed
// device-list body, posture body or Service-list body, and where it came from.
// Bodies a scenario serves on purpose as junk are not listed, so every listed
// one must decode.
type fixtureLine struct {
	Source   string          `json:"source"`
	Body     json.RawMessage `json:"body"`
	Posture  json.RawMessage `json:"posture"`
	Services json.RawMessage `json:"services"`
}

// TestFixturesDecodeStrictly holds every well-formed fixture to the client's
// field list, so that no fixture teaches the script a field the API lacks.
func TestFixturesDecodeStrictly(t *testing.T) {
	var bodies, devices, postures, serviceLists, services int
	for n, text := range deviceFixtureLines(t) {
		var line fixtureLine
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.DisallowUnknownFields()
		err := dec.Decode(&line)
		kinds := 0
		for _, raw := range []json.RawMessage{line.Body, line.Posture, line.Services} {
			if raw != nil {
				kinds++
			}
		}
		if err != nil || line.Source == "" || kinds != 1 {
			t.Errorf("fixture lister line %d is not {source, body|posture|services} (%v): %.120s", n+1, err, text)
			continue
		}
		switch {
		case line.Body != nil:
			bodies++
			devices += checkDeviceList(t, line.Source, line.Body)
		case line.Posture != nil:
			postures++
			if _, err := DecodePosture(line.Posture); err != nil {
				t.Errorf("%s: posture body: %v", line.Source, err)
			}
		default:
			serviceLists++
			listed, err := DecodeServiceList(line.Services)
			if err != nil {
				t.Errorf("%s: Service-list body: %v", line.Source, err)
			}
			services += len(listed)
		}
	}
	t.Logf("checked %d devices in %d device-list bodies, %d posture bodies, and %d Services in %d Service-list bodies",
		devices, bodies, postures, services, serviceLists)
}

// checkDeviceList checks one `{"devices": [...]}` body and returns how many
// devices it held.
func checkDeviceList(t *testing.T, source string, body json.RawMessage) int {
	t.Helper()
	var envelope struct {
		Devices []json.RawMessage `json:"devices"`
	}
	for _, err := range decodeStrict(body, &envelope) {
		t.Errorf("%s: device-list body: %v", source, err)
	}
	if envelope.Devices == nil {
		t.Errorf("%s: device-list body has no \"devices\" list: %.120s", source, body)
	}
	for i, raw := range envelope.Devices {
		if _, err := DecodeDevice(raw); err != nil {
			t.Errorf("%s: device %d (%s): %v", source, i, deviceLabel(raw), err)
		}
	}
	return len(envelope.Devices)
}

// deviceLabel names a device in a message even when the device is malformed;
// scenario bodies often carry only the legacy id.
func deviceLabel(raw json.RawMessage) string {
	var ids struct {
		NodeID any `json:"nodeId"`
		ID     any `json:"id"`
	}
	_ = json.Unmarshal(raw, &ids)
	if id, ok := ids.NodeID.(string); ok && id != "" {
		return "nodeId " + id
	}
	if id, ok := ids.ID.(string); ok && id != "" {
		return "no nodeId, id " + id
	}
	return "no nodeId"
}
