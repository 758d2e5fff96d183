"""The result table type: text, HTML and LaTeX renderings, marks, and bad input."""
from __future__ import annotations

import pytest

import valleylib as vl
from valleylib.scorecard import check_close, check_true, compare_fractions, format_scorecard, undecided
from valleylib.tables import Column, Link, Table, mark, scorecard_table


def test_marks():
    assert [str(mark(x)) for x in (True, False, None)] == ["pass", "FAIL", "n/a"]
    assert mark(False).kind == "fail" and mark(True).kind == "pass" and mark(None).kind == "na"
    with pytest.raises(TypeError, match="passed"):
        mark(1)


def test_table_renders_numbers_units_and_marks_in_every_format():
    t = Table([Column("k"), Column("ours", "%", ".1f"), ("p", "", ".2g"), "verdict", "risks"],
              [(6, 12.345, 0.0123, mark(True), None), (8, 0.0, 1.0, mark(False), "0.02 & 0.03")],
              title="T_1", notes="a note")
    text = str(t)
    assert "ours [%]" in text and "12.3" in text and "0.012" in text and "FAIL" in text and "\u2013" in text
    assert text.splitlines()[0] == "T_1" and text.splitlines()[-1] == "a note"
    html = t._repr_html_()
    assert html.count("<tr>") == 3 and "<th" in html and "overflow-x:auto" in html
    assert 'class="vl-mark vl-fail"' in html and 'class="vl-mark vl-pass"' in html
    assert "0.02 &amp; 0.03" in html and "<caption>T_1</caption>" in html
    tex = t._repr_latex_()
    assert r"\begin{tabular}" in tex and r"0.02 \& 0.03" in tex and r"T\_1" in tex and r"[\%]" in tex
    assert t.to_dicts()[1]["verdict"] == "FAIL"


def test_links_render_as_anchors():
    t = Table(["notebook"], [(Link("open", "https://example.org/a?b=1&c=2"),)])
    assert '<a href="https://example.org/a?b=1&amp;c=2">open</a>' in t._repr_html_()
    assert "https://example.org" in str(t)
    assert "a_<wbr>b" in Table(["x"], [(Link("a_b", "u"),)])._repr_html_()


def test_nested_values_are_shortened_and_numbers_do_not_wrap():
    t = Table(["v", "x"], [({"first": -1.7573781089000369, "n": [0.123456, 2]}, 0.5)])
    assert t.cell(0, 0) == "{first: -1.757, n: [0.1235, 2]}"
    assert '<td class="vl-num"' in t._repr_html_() and t._repr_html_().count("vl-num") == 1


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match=r"rows\[0\]"):
        Table(["a", "b"], [(1,)])
    with pytest.raises(ValueError, match="columns"):
        Table([], [])
    with pytest.raises(TypeError, match=r"columns\[0\]"):
        Table([3], [(1,)])


def test_scorecard_table_marks_each_verdict():
    checks = [check_close("x", "src", 1.0, 1.05, 0.1), check_close("y", "src", 1.0, 1.2, 0.1),
              compare_fractions("f", "src", (0, 300), (126, 1000)),
              undecided(check_true("b", "src", 1, False), "2 pairs")]
    t = scorecard_table(checks)
    verdicts = [r[-1] for r in t.rows]
    assert [str(v) for v in verdicts] == ["pass", "FAIL", "FAIL", "n/a"]
    assert "Holm p=" in str(t)
    assert str(t) == format_scorecard(checks)
    with pytest.raises(TypeError, match=r"checks\[0\]"):
        scorecard_table([1])


def test_report_table_is_a_table():
    from valleylib.experiments import Report

    r = Report("x", "smoke", "cpu", None, {}, [check_true("a", "src", 1, False)], 0.0)
    t = r.table()
    assert isinstance(t, Table) and "FAIL" in str(t) and "vl-fail" in t._repr_html_()


def test_result_tables_from_result_dicts():
    rows = [{"activation": "quadratic", "n": 2, "exact": 6, "estimated": 6},
            {"activation": "quadratic", "n": 3, "exact": 10, "estimated": 9}]
    t = vl.tables.intrinsic_dimensions(rows)
    assert t.rows == (("quadratic", "6 / 6", "10 / 9"),)
    cp = vl.tables.critical_points([(0,), (1,)], [0.1, 0.2], [1e-12, 1e-13], [0.5, -0.1], [0.0, -0.05],
                                   ["global minimum", "strict saddle"])
    assert cp.rows[0][4] is None and cp.cell(1, 4) == "-0.0500"


def test_safran_shamir_fractions_shows_each_rows_verdicts_and_marks_inferred_zeros():
    from valleylib.experiments.safran_shamir import INFERRED_ZERO
    from valleylib.full_runs import full_run

    run = full_run("safran-shamir")
    if run is None:
        pytest.skip("no full Safran-Shamir run recorded in this checkout")
    rep = run.report()
    t = vl.tables.safran_shamir_fractions(rep)
    by_claim = {c.claim: c for c in rep.scorecard if c.claim.startswith("fraction")}
    assert len(t.rows) == len(rep.result["rows"])
    for row in t.rows:
        k, n = row[0], row[1]
        assert (row[4] == "0*") == ((k, n) in INFERRED_ZERO)
        mine = [c for claim, c in by_claim.items() if f"k={k} n={n} " in claim and "all runs" in claim]
        assert str(row[6]) == (str(vl.tables.mark(mine[0].passed)) if mine else "None"), (k, n)
    assert "inferred by us" in t.notes
    assert any(str(r[-1]) == "FAIL" for r in t.rows) == any(
        c.passed is False for c in by_claim.values() if "certified" in c.claim)
