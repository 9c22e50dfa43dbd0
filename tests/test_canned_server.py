"""The generic canned-response server: routes in order, response sequences, the fallback,
delays, drops, templates, and the log of requests with the answers they got."""

from __future__ import annotations

import concurrent.futures
import http.client
import socket
import time
import urllib.error

import pytest

from harness.canned_server import Answer, CannedResponse, CannedServer, RequestMatcher, Route


def route(path=None, responses=(), method=None, path_regex=None, query=None, when_exhausted="repeat_last"):
    return Route(RequestMatcher(method, path, path_regex, query), list(responses), when_exhausted)


def test_a_sequence_then_the_last_response_again(fetch):
    responses = [CannedResponse.json({"message": "rate limited"}, 429, headers={"Retry-After": 1}),
                 CannedResponse.text("busy", 503)]
    with CannedServer([route("/a", responses)]) as server:
        first = fetch(server.url + "/a")
        assert first[:2] == (429, {"message": "rate limited"}) and first[2]["Retry-After"] == "1"
        assert first[2]["Content-Type"] == "application/json"
        second = fetch(server.url + "/a")
        assert second[:2] == (503, "busy") and second[2]["Content-Type"].startswith("text/plain")
        assert fetch(server.url + "/a")[:2] == (503, "busy")
        assert [r.handled_by for r in server.requests] == ["route[0]"] * 3


def test_fall_through_reaches_later_routes_then_the_fallback(fetch):
    routes = [route("/a", [CannedResponse.json({"n": 1}, 500)], when_exhausted="fall_through"),
              route(path_regex="^/a", responses=[CannedResponse.json({"n": 2})], when_exhausted="fall_through")]
    with CannedServer(routes, fallback=lambda request: Answer(204)) as server:
        assert [fetch(server.url + "/a")[0] for _ in range(3)] == [500, 200, 204]
        assert [r.handled_by for r in server.requests] == ["route[0]", "route[1]", "fallback"]


def test_what_nothing_answers_gets_the_unmatched_answer(fetch):
    with CannedServer(fallback=lambda request: None, unmatched=Answer(418, b"no")) as server:
        assert fetch(server.url + "/x")[:2] == (418, "no")
        assert server.requests[0].handled_by == "unmatched"


def test_a_route_needs_responses_and_a_known_exhaustion_rule():
    with pytest.raises(ValueError, match="at least one response"):
        route("/a", [])
    with pytest.raises(ValueError, match="when_exhausted"):
        route("/a", [CannedResponse()], when_exhausted="loop")


def test_matching_by_method_query_and_regex(fetch):
    routes = [
        route("/d", [CannedResponse(418)], method="POST"),
        route("/d", [CannedResponse.json({"filtered": True})], query={"fields": ["all"], "tags": ["a", "b"]}),
        route(path_regex=r"^/device/[^/]+/attributes$", responses=[CannedResponse.json({"posture": True})]),
    ]
    with CannedServer(routes) as server:
        assert fetch(server.url + "/d?fields=all&tags=b&tags=a&x=1")[1] == {"filtered": True}
        assert fetch(server.url + "/d?fields=all&tags=a")[0] == 404  # every listed value is needed
        assert fetch(server.url + "/d", "POST", data=b"")[0] == 418
        assert fetch(server.url + "/device/n1/attributes")[1] == {"posture": True}
        assert fetch(server.url + "/device/n1/routes")[0] == 404


def test_a_matcher_describes_itself():
    assert RequestMatcher("get", "/a", query={"k": ["v", "w"]}).describe() == "GET /a ?k=v&k=w"
    assert RequestMatcher(path_regex="x$").describe() == "* ~x$"
    assert RequestMatcher().describe() == "* (any path)"
    with pytest.raises(ValueError, match="not both"):
        RequestMatcher(path="/a", path_regex="a")


def test_a_delay_waits_before_answering(fetch):
    with CannedServer([route("/slow", [CannedResponse.json({"ok": True}, delay=0.3)])]) as server:
        started = time.monotonic()
        assert fetch(server.url + "/slow")[:2] == (200, {"ok": True})
        assert time.monotonic() - started >= 0.3


def test_a_drop_closes_without_answering(fetch):
    with CannedServer([route("/drop", [CannedResponse(drop=True), CannedResponse.json({"ok": True})])]) as server:
        with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
            fetch(server.url + "/drop")
        assert fetch(server.url + "/drop")[:2] == (200, {"ok": True})
        assert [(r.status, r.response_body) for r in server.requests] == [(None, b""), (200, b'{"ok":true}')]


def test_a_template_fills_in_values_from_the_request(fetch):
    def values(request):
        return {"who": request.header("X-Who") or "", "path": request.path}

    routes = [route("/json", [CannedResponse.json({"m": "hi {who} at {path}"}, template=values)]),
              route("/text", [CannedResponse.text("hi {who}", template=values)])]
    with CannedServer(routes) as server:
        assert fetch(server.url + "/json", headers={"X-Who": 'a "quoted" name'})[1] == {
            "m": 'hi a "quoted" name at /json'}
        assert fetch(server.url + "/text", headers={"X-Who": 'a "b"'})[1] == 'hi a "b"'


def test_every_request_is_recorded_with_its_answer(fetch):
    with CannedServer([route("/a", [CannedResponse.json({"ok": 1})])]) as server:
        fetch(server.url + "/a?fields=all&tags=x&tags=y", headers={"X-Test": "1"})
        fetch(server.url + "/b", "POST", data=b"k=v")
        first, second = server.requests
    assert (first.method, first.path, first.status, first.response_body) == ("GET", "/a", 200, b'{"ok":1}')
    assert first.query == {"fields": ["all"], "tags": ["x", "y"]} and first.header("x-test") == "1"
    assert first.describe() == "GET /a?fields=all&tags=x&tags=y -> 200"
    assert (second.method, second.body, second.status, second.handled_by) == ("POST", "k=v", 404, "unmatched")


def test_keep_alive_and_concurrent_requests(fetch):
    with CannedServer([route(path_regex=".", responses=[CannedResponse.json({})])]) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        for _ in range(3):
            connection.request("GET", "/x")
            response = connection.getresponse()
            assert response.status == 200 and not response.will_close
            response.read()
        local = connection.sock.getsockname()
        connection.request("GET", "/y")
        connection.getresponse().read()
        assert connection.sock.getsockname() == local  # the same connection, reused
        connection.close()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: fetch(server.url + "/z")[0], range(40)))
        assert statuses == [200] * 40 and len(server.requests) == 44


def test_stop_releases_the_port_and_idle_connections():
    server = CannedServer([route("/a", [CannedResponse.json({})])]).start()
    port = server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/a")
    connection.getresponse().read()  # the connection now idles in keep-alive
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    server.stop()  # idempotent
