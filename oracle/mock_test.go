package oracle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	tailscale "tailscale.com/client/tailscale/v2"
)

// noManageableDevice is what Tailscale answers, with 404, for a request about a
// device shared in from another tailnet: it is listed but cannot be managed.
const noManageableDevice = "no manageable device matching this ID found"

// allOnlyFields are the device keys a listing carries only with fields=all:
// the fields devices.go marks "only included in listings when querying `all`
// fields", and multipleConnections, which the API schema leaves out of the
// default field set.
var allOnlyFields = []string{
	"postureIdentity", "sshEnabled", "advertisedRoutes", "enabledRoutes",
	"clientConnectivity", "distro", "multipleConnections",
}

// sample is the recorded tailnet the mock serves, read independently of the mock.
type sample struct {
	devices []tailscale.Device
	raw     []map[string]any
	posture map[string]json.RawMessage
}

func loadSample(t *testing.T) sample {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "fixtures", "tailnets", "sample")
	devicesBody, err := os.ReadFile(filepath.Join(dir, "devices.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s sample
	var decoded struct{ Devices []tailscale.Device }
	var raw struct{ Devices []map[string]any }
	if err := json.Unmarshal(devicesBody, &decoded); err != nil {
		t.Fatalf("sample devices.json: %v", err)
	}
	if err := json.Unmarshal(devicesBody, &raw); err != nil {
		t.Fatalf("sample devices.json: %v", err)
	}
	postureBody, err := os.ReadFile(filepath.Join(dir, "posture.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(postureBody, &s.posture); err != nil {
		t.Fatalf("sample posture.json: %v", err)
	}
	s.devices, s.raw = decoded.Devices, raw.Devices
	if len(s.devices) == 0 {
		t.Fatal("sample devices.json lists no devices")
	}
	return s
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func apiKeyClient(base *url.URL) *tailscale.Client {
	return &tailscale.Client{BaseURL: base, Tailnet: "-", APIKey: apiKey}
}

func oauthClient(base *url.URL, clientID string) *tailscale.Client {
	return &tailscale.Client{BaseURL: base, Tailnet: "-", Auth: &tailscale.OAuth{
		ClientID:     clientID,
		ClientSecret: oauthClientSecret,
		Scopes:       []string{"devices:core:read", "devices:posture_attributes:read"},
	}}
}

// TestMockListsFixtureDevices proves the mock's fields=all listing is the
// fixture as recorded: through the client, and key by key for the fields the
// client has no place for.
func TestMockListsFixtureDevices(t *testing.T) {
	s := loadSample(t)
	base := startMock(t)
	got, err := apiKeyClient(base).Devices().List(timeout(t), tailscale.WithFields(tailscale.IncludeFieldsAll))
	if err != nil {
		t.Fatalf("List(fields=all) with an API key: %v", err)
	}
	compareDevices(t, s.devices, got)
	compareRaw(t, s.raw, rawListing(t, base, "fields=all"))
}

// TestMockDefaultListingOmitsAllOnlyFields checks the projection for a listing
// without fields=all, which the client sends when no option is given.
func TestMockDefaultListingOmitsAllOnlyFields(t *testing.T) {
	s := loadSample(t)
	want := make([]map[string]any, len(s.raw))
	for i, device := range s.raw {
		want[i] = maps.Clone(device)
		for _, key := range allOnlyFields {
			delete(want[i], key)
		}
	}
	compareRaw(t, want, rawListing(t, startMock(t), ""))
}

// TestMockPostureAttributes reads every device's posture through the client.
// A shared-in device's posture is refused by the real API, so the mock must
// refuse it the same way rather than answer an empty posture.
func TestMockPostureAttributes(t *testing.T) {
	s := loadSample(t)
	client := apiKeyClient(startMock(t))
	for _, device := range s.devices {
		t.Run(device.NodeID, func(t *testing.T) {
			got, err := client.Devices().GetPostureAttributes(timeout(t), device.NodeID)
			if device.IsExternal {
				var apiErr tailscale.APIError
				if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Message != noManageableDevice {
					t.Fatalf("shared-in device: got %+v, error %v; want APIError 404 %q", got, err, noManageableDevice)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetPostureAttributes: %v", err)
			}
			// A device with no posture.json entry has no attributes; whether the
			// empty maps are sent as {} or left out does not matter to a reader.
			var want tailscale.DevicePostureAttributes
			if body, ok := s.posture[device.NodeID]; ok {
				if err := json.Unmarshal(body, &want); err != nil {
					t.Fatalf("posture.json entry: %v", err)
				}
			}
			if diff := cmp.Diff(want, *got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("posture differs from posture.json (-fixture +mock):\n%s", diff)
			}
		})
	}
}

// TestMockOAuthListsOwnDevices lists with the client's own OAuth client
// credentials flow. An OAuth client is not a user, so devices shared in from
// other tailnets are not listed to its tokens.
func TestMockOAuthListsOwnDevices(t *testing.T) {
	s := loadSample(t)
	var want []tailscale.Device
	for _, device := range s.devices {
		if !device.IsExternal {
			want = append(want, device)
		}
	}
	got, err := oauthClient(startMock(t), oauthClientID).Devices().List(timeout(t), tailscale.WithFields(tailscale.IncludeFieldsAll))
	if err != nil {
		t.Fatalf("List(fields=all) with OAuth: %v", err)
	}
	compareDevices(t, want, got)
}

// TestMockOAuthIgnoresClientID: Tailscale identifies an OAuth client by its
// secret, and its own CLI sends a placeholder client_id.
func TestMockOAuthIgnoresClientID(t *testing.T) {
	const placeholder = "some-client-id"
	if _, err := oauthClient(startMock(t), placeholder).Devices().List(timeout(t)); err != nil {
		t.Fatalf("List with client_id %q and a valid secret: %v; want a token, since the secret identifies the client", placeholder, err)
	}
}

// TestMockOAuthTokenResponse checks the token answer's fields as Tailscale
// sends them; the OAuth library reads only some of them, and the script
// reads the raw body.
func TestMockOAuthTokenResponse(t *testing.T) {
	base := startMock(t)
	resp, err := http.PostForm(base.JoinPath("/api/v2/oauth/token").String(), url.Values{
		"client_id":     {oauthClientID},
		"client_secret": {oauthClientSecret},
		"grant_type":    {"client_credentials"},
		"scope":         {"devices:core:read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var token struct {
		AccessToken *string  `json:"access_token"`
		TokenType   *string  `json:"token_type"`
		ExpiresIn   *float64 `json:"expires_in"`
		Scope       *string  `json:"scope"`
	}
	if err := json.Unmarshal(body, &token); err != nil {
		t.Fatalf("token response %s: %v", body, err)
	}
	switch {
	case token.AccessToken == nil || !strings.HasPrefix(*token.AccessToken, "tskey-api-"):
		t.Errorf("access_token should be a tskey-api- token: %s", body)
	case token.TokenType == nil || *token.TokenType != "Bearer":
		t.Errorf(`token_type should be "Bearer": %s`, body)
	case token.ExpiresIn == nil || *token.ExpiresIn != 3600:
		t.Errorf("expires_in should be the number 3600 (one hour): %s", body)
	case token.Scope == nil || *token.Scope == "":
		t.Errorf("scope should name the granted scopes: %s", body)
	}
}

// rawListing fetches the device list the way the client does (Basic auth with
// the API key) and returns each device as its JSON object.
func rawListing(t *testing.T, base *url.URL, query string) []map[string]any {
	t.Helper()
	u := base.JoinPath("/api/v2/tailnet/-/devices")
	u.RawQuery = query
	body := getWithAPIKey(t, u)
	var listing struct {
		Devices []map[string]any `json:"devices"`
	}
	if err := json.Unmarshal(body, &listing); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return listing.Devices
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", resp.Request.Method, resp.Request.URL, resp.Status, body)
	}
	return body
}

// compareDevices reports differences device by device, so a failure names the
// device and the field rather than dumping two lists.
func compareDevices(t *testing.T, want, got []tailscale.Device) {
	t.Helper()
	nodeIDs := func(devices []tailscale.Device) []string {
		ids := make([]string, len(devices))
		for i, d := range devices {
			ids[i] = d.NodeID
		}
		return ids
	}
	if w, g := nodeIDs(want), nodeIDs(got); !slices.Equal(w, g) {
		missing := slices.DeleteFunc(slices.Clone(w), func(id string) bool { return slices.Contains(g, id) })
		extra := slices.DeleteFunc(slices.Clone(g), func(id string) bool { return slices.Contains(w, id) })
		t.Fatalf("the mock's list is not the fixture's: missing %v, unexpected %v (mock order %v)", missing, extra, g)
	}
	for i := range want {
		if diff := cmp.Diff(want[i], got[i]); diff != "" {
			t.Errorf("device %d (%s) differs (-fixture +mock):\n%s", i, want[i].NodeID, diff)
		}
	}
}

// compareRaw reports, per device, keys the mock dropped, added or changed
// relative to the expected JSON objects.
func compareRaw(t *testing.T, want, got []map[string]any) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("mock listed %d devices, want %d", len(got), len(want))
	}
	for i := range want {
		var problems []string
		for _, key := range slices.Sorted(maps.Keys(want[i])) {
			value, ok := got[i][key]
			switch {
			case !ok:
				problems = append(problems, "missing "+key)
			case !reflect.DeepEqual(value, want[i][key]):
				problems = append(problems, fmt.Sprintf("%s is %v, want %v", key, value, want[i][key]))
			}
		}
		for _, key := range slices.Sorted(maps.Keys(got[i])) {
			if _, ok := want[i][key]; !ok {
				problems = append(problems, "unexpected "+key)
			}
		}
		if len(problems) > 0 {
			t.Errorf("device %d (%v): %s", i, want[i]["nodeId"], strings.Join(problems, "; "))
		}
	}
}

// TestMockListsFixtureServices lists the sample tailnet's Services through the
// client, which reads /vip-services, and checks that the published spec's path
// /services answers the same objects, key by key, as services.json holds them.
func TestMockListsFixtureServices(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "fixtures", "tailnets", "sample", "services.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeServiceList(body)
	if err != nil {
		t.Fatalf("sample services.json: %v", err)
	}
	if len(want) == 0 {
		t.Fatal("sample services.json lists no Services")
	}
	var raw struct {
		Services []map[string]any `json:"vipServices"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	base := startMock(t)
	got, err := apiKeyClient(base).Services().List(timeout(t))
	if err != nil {
		t.Fatalf("Services().List with an API key: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the client's Service list differs from services.json (-fixture +mock):\n%s", diff)
	}
	for _, path := range []string{"vip-services", "services"} {
		t.Run(path, func(t *testing.T) {
			compareRaw(t, raw.Services, rawServiceListing(t, base, path))
		})
	}
}

// rawServiceListing fetches /tailnet/-/<path> with the API key and returns each
// Service as its JSON object.
func rawServiceListing(t *testing.T, base *url.URL, path string) []map[string]any {
	t.Helper()
	u := base.JoinPath("/api/v2/tailnet/-", path)
	var listing struct {
		Services []map[string]any `json:"vipServices"`
	}
	if body := getWithAPIKey(t, u); json.Unmarshal(body, &listing) != nil {
		t.Fatalf("GET %s: not a Service list: %.120s", u, body)
	}
	return listing.Services
}

// getWithAPIKey sends a GET the way the client does (Basic auth with the API
// key) and returns the body of its 200 answer.
func getWithAPIKey(t *testing.T, u *url.URL) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(timeout(t), http.MethodGet, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(apiKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, resp)
}
