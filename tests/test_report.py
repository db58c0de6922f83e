"""The HTML report builder: self-contained, small cells suppressed, figures inline."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from desist.report import SUPPRESSED, Report, suppress_small_cells


def test_small_cells_and_everything_computed_from_them_are_suppressed():
    table = pd.DataFrame(
        {
            "group": ["women", "men", "none"],
            "n": [7, 300, 0],
            "rate": [0.43, 0.51, float("nan")],
            "ci": ["12% to 80%", "45% to 57%", "-"],
        }
    )
    shown, k = suppress_small_cells(table, ["n"])
    assert k == 1
    assert shown.loc[0, "group"] == "women"
    assert (shown.loc[0, ["n", "rate", "ci"]] == SUPPRESSED).all()
    assert shown.loc[1, "n"] == 300 and shown.loc[2, "n"] == 0


def test_suppression_names_a_missing_count_column():
    with pytest.raises(ValueError, match=r"count columns \['people'\]"):
        suppress_small_cells(pd.DataFrame({"n": [1]}), ["people"])


def test_report_is_self_contained_with_inline_svg(tmp_path):
    report = Report("Test report", "as of 2025-09-30")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    report.add("balance", "Balance", text="First paragraph.\n\nSecond.", figure=fig, figure_caption="Love plot")
    report.add(
        "counts",
        "Counts",
        table=pd.DataFrame({"segment": ["a", "b"], "n": [3, 40]}),
        n_columns=["n"],
        caption="By segment",
    )
    path = report.write(tmp_path / "r.html")
    page = path.read_text(encoding="utf-8")
    assert page.count("<section") == 2
    assert 'data-figure="balance"' in page and "<svg" in page
    assert "1 row(s) of By segment suppressed" in page
    # Nothing is fetched from elsewhere: no external scripts, styles, images or fonts.
    for marker in ('src="http', 'href="http', "url(http", "@import", "<script src", "<link "):
        assert marker not in page
    assert "<p>Second.</p>" in page
