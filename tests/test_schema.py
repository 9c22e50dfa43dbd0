"""The schema declaration itself: every key documented, defaults loaded as declared, and the
rzscript options taken from the keys that name one."""

from __future__ import annotations

import pytest

from harness import schema
from harness.scenario import Scenario, scenario_from_dict

SECTIONS = [schema.SCENARIO, schema.AUTH, schema.ROUTE, schema.RESPONSE, schema.EXPECT, schema.ASSET,
            schema.REQUEST, schema.COUNTED_REQUEST]


@pytest.mark.parametrize("section", SECTIONS, ids=[s.what for s in SECTIONS])
def test_every_key_has_a_one_line_meaning_and_a_type(section):
    for key in section.keys.values():
        assert key.meaning.strip() and "\n" not in key.meaning, key.name
        assert key.type.what, key.name


def test_a_scenario_has_one_attribute_per_top_level_key():
    assert [f for f in Scenario.__dataclass_fields__] == ["path", "name", *schema.SCENARIO.keys]


def test_a_scenario_given_only_a_description_gets_every_declared_default():
    scenario = scenario_from_dict({"description": "x"})
    for name, key in schema.SCENARIO.keys.items():
        if key.default not in (schema.REQUIRED, schema.ABSENT) and not isinstance(key.default, schema.Derived):
            assert getattr(scenario, name) == key.default, name


def test_loading_twice_gives_the_same_values():
    spec = {"path": "/a", "query": {"k": [1, True]}, "responses": [{"headers": {"X": 2}}]}
    checker = schema.Checker("<test>")
    once = schema.ROUTE.load(spec, "routes[0]", checker)
    assert once["query"] == {"k": ["1", "true"]}
    assert schema.ROUTE.load(once, "routes[0]", checker) == once


def test_null_means_the_default_where_the_default_is_none():
    assert scenario_from_dict({"description": "x", "tailnet": None}).tailnet is None
    assert scenario_from_dict({"description": "x", "auth": {"token_max_uses": None}}).auth["token_max_uses"] is None


def test_rzscript_options_come_from_the_keys_that_name_one():
    named = {name: key.rzscript_option for name, key in schema.SCENARIO.keys.items() if key.rzscript_option}
    assert named == {"strict": "--strict", "invalid_ip": "--invalid-ip", "now": "--now"}
    default = scenario_from_dict({"description": "x"})
    assert schema.rzscript_options(default) == ["--strict", "--invalid-ip", "none", "--now", "2026-11-28T12:00:00Z"]
    lenient = scenario_from_dict({"description": "x", "strict": False, "invalid_ip": "abort"})
    assert schema.rzscript_options(lenient) == ["--invalid-ip", "abort", "--now", "2026-11-28T12:00:00Z"]


def test_an_open_section_keeps_undeclared_keys():
    fields = schema.ASSET.load({"os": "Linux", "customAttributes": {"n": 3}}, "expect.assets.a", schema.Checker("<t>"))
    assert fields == {"os": "Linux", "customAttributes": {"n": "3"}}
