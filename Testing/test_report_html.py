"""The report's HTML layer: escaping, number formatting, embedded figures, and a clean render in Chromium."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest

from NACResistanceLib import study_numbers
from NACResistanceLib.report import html, sections

HOSTILE = '<script>console.error("injected")</script><img src=x onerror=alert(1)> & "quotes"'


def test_text_from_data_is_escaped_everywhere():
    frame = pd.DataFrame({"feature": [HOSTILE], "p": [0.0004]}, index=pd.Index([HOSTILE], name=HOSTILE))
    page = html.page(HOSTILE, html.section("s", HOSTILE, [html.table(frame, HOSTILE, p_columns=["p"]),
                                                            html.paragraph(HOSTILE)]))
    assert "<script>" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;console.error(&quot;injected&quot;)&lt;/script&gt;") == 7  # title, h2, caption, th, 2 td, p
    assert "<td class=\"\">&lt;0.001</td>" in page


@pytest.mark.parametrize(("value", "shown"), [(0.0004, "<0.001"), (0.0123, "0.012"), (0.5, "0.500"),
                                              (float("nan"), "–"), ("0.05", "0.050"), (pd.NA, "–")])
def test_p_values_are_printed_as_in_the_seed_paper(value, shown):
    assert html.format_p(value) == shown


def test_figures_are_embedded_png_data_uris():
    fig = html.new_figure(2, 2)
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    element = html.figure(fig, "a caption", "alt text")
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', element).group(1)
    assert base64.b64decode(encoded).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<figcaption>a caption</figcaption>" in element


@pytest.mark.slow
def test_a_page_renders_in_headless_chromium_without_console_errors(tmp_path):
    from browser import CHROMIUM, INSTALL_HINT, render

    if not CHROMIUM.exists():
        pytest.fail(INSTALL_HINT)
    fig = html.new_figure(3, 2)
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    frame = pd.DataFrame({"feature": [HOSTILE], "auc": [0.81]})
    body = html.section("s", "Section", [html.table(frame, "caption"), html.figure(fig, "caption", "alt")])
    path = tmp_path / "page.html"
    path.write_text(html.page("Test page", body), encoding="utf-8")
    seen = render(path)
    assert seen.loaded and seen.title == "Test page"
    assert seen.problems == ()
    assert (seen.images_total, seen.images_decoded) == (1, 1)


@pytest.mark.slow
def test_the_browser_check_does_catch_console_errors(tmp_path):
    from browser import CHROMIUM, INSTALL_HINT, render

    if not CHROMIUM.exists():
        pytest.fail(INSTALL_HINT)
    path = tmp_path / "bad.html"
    path.write_text('<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>bad</title></head>'
                    '<body><img src="missing.png"><script>console.error("boom")</script></body></html>')
    seen = render(path)
    assert any("console.error: boom" in p for p in seen.problems)
    assert any("missing.png" in p for p in seen.problems)
    assert (seen.images_total, seen.images_decoded) == (1, 0)


def test_table3_shows_adc_in_seed_units_with_three_significant_digits():
    # ADC 1.0e-3 and 1.2e-3 mm²/s (resistant), 0.8e-3 and 0.9e-3 (sensitive): mean ± SD by hand
    rows = pd.DataFrame({"adc_mean": [1.0e-3, 1.2e-3, 0.8e-3, 0.9e-3]}, index=["a", "b", "c", "d"])
    resistant = pd.Series([1, 1, 0, 0], index=["a", "b", "c", "d"])
    table3 = pd.DataFrame([{"variable": "adc_mean", "level": "", "resistant": "0.00 ± 0.00",
                            "sensitive": "0.00 ± 0.00", "test": "t", "statistic": 1.0, "p_value": 0.2}])
    shown = study_numbers.table3_display(table3, rows, resistant).iloc[0]
    assert shown["variable"] == "adc_mean (×10⁻³ mm²/s)"
    assert (shown["resistant"], shown["sensitive"]) == ("1.10 ± 0.14", "0.850 ± 0.071")


@pytest.mark.parametrize(("text", "shown"), [("12 (40.00)", "12 (40.0%)"), ("0 (nan)", "0 (–)"),
                                             ("1.75 ± 0.50", "1.75 ± 0.50")])
def test_category_counts_show_percent_signs(text, shown):
    assert sections.count_percent_text(text) == shown


def test_table5_combines_estimates_and_confidence_intervals():
    table5 = pd.DataFrame([{"cohort": "validation", "model": "combined", "auc": 0.8123, "auc_low": 0.7011,
                            "auc_high": 0.9054, "threshold": 0.4, "sensitivity": 0.75, "sensitivity_low": 0.5,
                            "sensitivity_high": 0.9, "true_positive": 6, "cases": 8, "specificity": 0.8,
                            "specificity_low": 0.6, "specificity_high": 0.92, "true_negative": 16,
                            "controls": 20, "p_vs_clinical": 0.0004}])
    shown = sections.table5_display(table5).iloc[0]
    assert shown["AUC (95% CI)"] == "0.812 (0.701–0.905)"
    assert shown["sensitivity (95% CI)"] == "75.0% (50.0–90.0), 6/8"
    assert shown["specificity (95% CI)"] == "80.0% (60.0–92.0), 16/20"


@pytest.mark.parametrize(("value", "shown"), [(-1.49e-17, "0.000"), (0.000635, "6.35e-04"), (1.5, "1.500"),
                                              (float("nan"), "–")])
def test_numerical_zero_and_small_values(value, shown):
    assert html.format_value(value) == shown
