package oracle

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fixtureLine is one line of the harness's fixture lister: a well-formed
// device-list body or a posture body, and where it came from. Bodies a scenario
// serves on purpose as junk are not listed, so every listed one must decode.
type fixtureLine struct {
	Source  string          `json:"source"`
	Body    json.RawMessage `json:"body"`
	Posture json.RawMessage `json:"posture"`
}

// TestFixturesDecodeStrictly holds every well-formed fixture to the client's
// field list, so that no fixture teaches the script a field the API lacks.
func TestFixturesDecodeStrictly(t *testing.T) {
	var bodies, devices, postures int
	for n, text := range deviceFixtureLines(t) {
		var line fixtureLine
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&line); err != nil || line.Source == "" || (line.Body == nil) == (line.Posture == nil) {
			t.Errorf("fixture lister line %d is not {source, body|posture} (%v): %.120s", n+1, err, text)
			continue
		}
		if line.Body != nil {
			bodies++
			devices += checkDeviceList(t, line.Source, line.Body)
		} else {
			postures++
			if _, err := DecodePosture(line.Posture); err != nil {
				t.Errorf("%s: posture body: %v", line.Source, err)
			}
		}
	}
	t.Logf("checked %d devices in %d device-list bodies, and %d posture bodies", devices, bodies, postures)
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
