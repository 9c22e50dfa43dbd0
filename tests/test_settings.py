"""The settings rewriter: YAML values as Starlark literals in a copy of the script."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.settings import SettingNotFound, prepare_script, read_setting, rewrite_settings, starlark_literal

SCRIPT = '''\
# settings
TAILNET_DEFAULT = "-"  # which tailnet
INCLUDE_POSTURE = True
DEVICE_FILTERS = {
    "tags": ["tag:a", "tag:b # not a comment"],  # inner comment
}
PATTERN = "a \\" # b"   # quoted hash
REQUEST_TIMEOUT = 60
INCLUDE_POSTURE_TOO = 1

def main(**kwargs):
    REQUEST_TIMEOUT = 5
    if INCLUDE_POSTURE == True:
        pass
'''


def test_rewrite_settings_replaces_values_and_keeps_comments():
    out = rewrite_settings(SCRIPT, {
        "TAILNET_DEFAULT": "T1234CNTRL", "INCLUDE_POSTURE": False, "DEVICE_FILTERS": {"isEphemeral": True},
        "PATTERN": 'x"y', "REQUEST_TIMEOUT": 2,
    })
    assert 'TAILNET_DEFAULT = "T1234CNTRL"  # which tailnet\n' in out
    assert "INCLUDE_POSTURE = False\n" in out
    assert 'DEVICE_FILTERS = {"isEphemeral": True}\nPATTERN' in out
    assert 'PATTERN = "x\\"y"   # quoted hash\n' in out
    assert "\nREQUEST_TIMEOUT = 2\n" in out
    assert "INCLUDE_POSTURE_TOO = 1\n" in out  # a longer name is a different setting
    assert "    REQUEST_TIMEOUT = 5\n" in out and "if INCLUDE_POSTURE == True" in out  # only top-level lines


def test_rewrite_settings_rejects_a_missing_name():
    with pytest.raises(SettingNotFound, match=r"settings.NO_SUCH: no top-level line `NO_SUCH = \.\.\.`"):
        rewrite_settings(SCRIPT, {"NO_SUCH": 1})
    with pytest.raises(SettingNotFound, match="REQUEST"):  # only a prefix of a real name
        rewrite_settings(SCRIPT, {"REQUEST": 1})


def test_read_setting_gives_the_value_as_written():
    assert read_setting(SCRIPT, "DEVICE_FILTERS") == (
        '{\n    "tags": ["tag:a", "tag:b # not a comment"],  # inner comment\n}')
    assert read_setting(SCRIPT, "PATTERN") == '"a \\" # b"'
    assert read_setting(SCRIPT, "REQUEST_TIMEOUT") == "60"


def test_prepare_script_copies_only_when_needed(tmp_path):
    script = tmp_path / "s.star"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir()
    assert prepare_script(script, {}, work) == script
    copy = prepare_script(script, {"REQUEST_TIMEOUT": 3}, work)
    assert copy != script and "REQUEST_TIMEOUT = 3" in copy.read_text()
    assert script.read_text() == SCRIPT


@pytest.mark.parametrize(("value", "literal"), [
    (True, "True"), (False, "False"), (None, "None"), (0, "0"), (-12, "-12"), (2.5, "2.5"),
    ("plain", '"plain"'), ('q"uote\\', '"q\\"uote\\\\"'), ("a\nb\tc\x01", '"a\\nb\\tc\\x01"'), ("été", '"été"'),
    ("\x85\u2028\U000e0001", '"\\u0085\\u2028\\U000e0001"'),
    ([1, "a", [None]], '[1, "a", [None]]'), ({"k": [True], "n": {}}, '{"k": [True], "n": {}}'), ([], "[]"),
])
def test_starlark_literal(value, literal):
    assert starlark_literal(value) == literal


@pytest.mark.parametrize("value", [float("nan"), b"bytes", {1, 2}, object()])
def test_starlark_literal_rejects_what_has_no_literal(value):
    with pytest.raises(ValueError):
        starlark_literal(value)


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(YAML_VALUES)
def test_starlark_literal_round_trips(value):
    # The literals used (True/False/None, ints, escaped double-quoted strings, lists, dicts)
    # mean the same in Python, so Python's literal parser can read them back.
    assert ast.literal_eval(starlark_literal(value)) == value


@settings(max_examples=60, deadline=None)
@given(YAML_VALUES)
def test_rewrite_settings_round_trips_any_value(value):
    out = rewrite_settings(SCRIPT, {"DEVICE_FILTERS": value, "TAILNET_DEFAULT": value})
    assert ast.literal_eval(read_setting(out, "TAILNET_DEFAULT")) == value
    assert ast.literal_eval(read_setting(out, "DEVICE_FILTERS")) == value
    assert out.split("\n")[4].startswith("PATTERN = ")
