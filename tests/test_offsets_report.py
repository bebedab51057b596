"""The seed-offset report reads each chapter's verification rows as data and
tabulates them per offset (learning_dynamics.book.offsets)."""
from __future__ import annotations

import json

import nbformat
from IPython.core.formatters import DisplayFormatter

from learning_dynamics.book import offsets
from learning_dynamics.verification import Claim, verification_table


def _executed_notebook(claims):
    data, meta = DisplayFormatter().format(verification_table(claims))
    out = nbformat.v4.new_output("display_data", data=data, metadata=meta)
    cell = nbformat.v4.new_code_cell("verification_table(claims)", outputs=[out])
    return nbformat.v4.new_notebook(cells=[cell])


def test_rows_travel_in_the_output_metadata():
    nb = _executed_notebook([
        Claim("fit at t = 1", 0.78, "contains 0.78 at z = 3.89", True, kind="rate",
              source="Wilson bound"),
        Claim("engine agrees", 1e-12, "< 1e-10", True, kind="engine")])
    rows = offsets.chapter_claims(nb)
    assert [r["claim"] for r in rows] == ["fit at t = 1", "engine agrees"]
    assert rows[0]["kind"] == "rate" and rows[0]["measured"] == 0.78


def test_the_table_lists_every_offset_and_each_rate_once_per_offset():
    rate = {"claim": "fit | rate", "kind": "rate", "measured": 0.7812,
            "tolerance": "interval [0.70, 0.85]", "source": "", "passed": True}
    other = {**rate, "claim": "engine", "kind": "engine"}
    results = {"04_xor": {0: {"passed": True, "claims": [rate, other]},
                          1: {"passed": False, "claims": []}}}
    text = offsets.render_table(results, {"04_xor": 12})
    assert "| 04_xor | 0 ✓, 1 ✗ | 12 |" in text
    assert "fit \\| rate" in text and "0.781 (interval [0.70, 0.85])" in text
    assert "engine" not in text.split("Rates over seeds")[1]


def test_asserts_are_counted_as_statements(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%matplotlib inline\nassert 1\nif 1:\n    assert 2"),
        nbformat.v4.new_markdown_cell("assert in prose does not count"),
        nbformat.v4.new_code_cell("x = 'assert'")])
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert offsets.count_asserts(path) == 2
