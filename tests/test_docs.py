"""Generated documents match what they are generated from (`make docs` rewrites them)."""

from __future__ import annotations

import difflib

import pytest

from harness import docs
from harness.paths import FIXTURES_README, display_path


@pytest.mark.parametrize("path", list(docs.documents()), ids=lambda p: display_path(p))
def test_generated_documents_are_current(path):
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    wanted = docs.documents()[path]
    if current != wanted:
        diff = "\n".join(list(difflib.unified_diff(current.splitlines(), wanted.splitlines(), lineterm="", n=0))[:12])
        pytest.fail(f"{display_path(path)} is out of date: run `{docs.REGENERATE}`\n{diff}", pytrace=False)


def test_the_fixtures_readme_has_every_generated_table_once():
    assert sorted(docs.regions(FIXTURES_README.read_text(encoding="utf-8"))) == sorted(docs.TABLES)


def test_an_unknown_region_is_an_error():
    with pytest.raises(KeyError, match="unknown generated region 'nope'"):
        docs.render_readme("<!-- generated: nope -->\nold\n<!-- end generated -->\n")


def test_a_region_is_rewritten_in_place():
    text = "before\n<!-- generated: invariants -->\nstale\n<!-- end generated -->\nafter\n"
    out = docs.render_readme(text)
    assert out.startswith("before\n<!-- generated: invariants -->\n| name | what must hold |")
    assert out.endswith("|\n<!-- end generated -->\nafter\n") and "stale" not in out


def test_make_docs_says_what_it_wrote_and_what_was_current(tmp_path, monkeypatch, capsys):
    stale_doc, current_doc = tmp_path / "stale.md", tmp_path / "current.md"
    stale_doc.write_text("old\n")
    current_doc.write_text("same\n")
    monkeypatch.setattr(docs, "documents", lambda: {stale_doc: "new\n", current_doc: "same\n"})
    assert docs.main([]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {stale_doc}", f"{current_doc} is up to date"]
    assert stale_doc.read_text() == "new\n"
