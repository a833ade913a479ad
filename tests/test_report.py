"""Reports: the evaluation page, the leaderboard site, Markdown and JSON.

Pages are built from real evaluations (GBSG2, veterans) and checked as files: self-
contained (no network), escaped, deterministic, no record of any table, figures drawn
or explained, every link resolving. tests/test_browser.py opens them in Chromium.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from html_page import Page
from report_data import DATASETS, FAST, GENERATORS, SEEDS
from safe_bench import evaluate, load_generator
from safe_bench.benchmark.store import Store
from safe_bench.cli.main import main
from safe_bench.data.io import write_table
from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.metrics.registry import MetricResult
from safe_bench.report.figures import Point, _cliques, pareto_front
from safe_bench.report.html import evaluation_html

XSS = "<script>alert(1)</script>"


def assert_self_contained(html: str) -> Page:
    page = Page(html)
    assert not [t for t, a in page.tags if t in ("link", "iframe", "object", "embed", "base")]
    assert all(re.match(r"data:image/(svg\+xml,%3C|png;base64,)", src) for src in page.attributes("src"))
    assert not [h for h in page.attributes("href") if re.match(r"^[a-z]+:", h)], "only relative links"
    assert sum(t == "script" for t, _ in page.tags) == 1, "one script: the inline sorter"
    assert not [a for _, a in page.tags if "style" in a or any(k.startswith("on") for k in a)]
    (csp,) = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; img-src data:;") and "'unsafe-inline'" not in csp
    assert "url(" not in html and "@import" not in html
    for svg in page.svgs():
        assert "<script" not in svg and "href=\"http" not in svg
    return page


# -- the evaluation page -------------------------------------------------------------------
@pytest.fixture(scope="module")
def copy_run(gbsg2, gbsg2_split):
    """bootstrap_copy: a synthetic table made of real training rows."""
    gen = load_generator("bootstrap_copy")
    gen.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    synthetic = gen.sample(len(gbsg2_split.train), seed=0)
    result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, seed=0, n_bootstrap=10,
                      metrics=FAST, label="bootstrap_copy on gbsg2")
    return result, synthetic


def test_evaluation_page_is_self_contained_with_every_section(copy_run):
    result, _ = copy_run
    html = evaluation_html(result)
    page = assert_self_contained(html)
    text = " ".join(page.text)
    for heading in ("SAFE verdict", "statistical fidelity", "clinical utility", "privacy preservation"):
        assert heading in text
    for m in result.metrics:
        assert any(row and row[0] == m.id for row in page.rows), m.id
    safe = result.pillars["SAFE"]
    assert f"{safe.score:.3f}" in text and f"[{safe.ci_low:.3f}, {safe.ci_high:.3f}]" in text
    captions = re.findall(r"<figcaption><strong>(.*?)\.</strong>", html)
    assert captions[:1] == ["SAFE, its pillars and their metrics"]
    assert {"Association differences between column pairs", "Kaplan-Meier curves: train, synthetic and holdout"} <= set(captions)
    assert len(page.attributes("src")) == len(captions)
    assert "Cox model: hazard ratios on train, synthetic and holdout: not drawn: C.cox was not evaluated." in page.words
    assert ("Attack risks with 95 % intervals: not drawn: P.attribute was not evaluated; P.linkability was not "
            "evaluated; P.singling_out was not evaluated.") in page.words


def _cards(page: Page) -> dict[str, str]:
    """The SAFE verdict's cards by pillar: each card's words."""
    words = page.words[page.words.index("SAFE verdict"):]
    cards = {}
    for key, name in (("SAFE", "weighted"), ("S", "statistical fidelity"), ("C", "clinical utility"),
                      ("P", "privacy preservation")):
        start = words.index(f"{key} · {name}")
        cards[key] = words[start:]
    order = list(cards)
    return {k: cards[k][: len(cards[k]) - len(cards[order[i + 1]])] if i + 1 < len(order) else cards[k]
            for i, k in enumerate(order)}


def test_the_page_shows_the_privacy_verdict_and_praises_no_copy(copy_run, gbsg2, gbsg2_split):
    result, _ = copy_run
    page = Page(evaluation_html(result))
    assert result.extra["privacy_verdict"]["level"] == "memorisation"
    assert [a.get("class") for t, a in page.tags if a.get("id") == "privacy-verdict"] == ["privacy-verdict concern"]
    assert "Privacy verdict: memorisation: synthetic rows copy or nearly copy training patients" in page.words
    cards = _cards(page)
    for key in ("S", "C"):
        assert "no evidence of quality" in cards[key], cards[key]
    assert "no evidence of quality" not in cards["P"] and "below the real reference" in cards["P"]

    honest = load_generator("gaussian_copula")
    honest.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    fresh = evaluate(gbsg2_split.train, honest.sample(len(gbsg2_split.train), seed=0), gbsg2_split.holdout,
                     gbsg2.schema, seed=0, n_bootstrap=10, metrics=FAST)
    page = Page(evaluation_html(fresh))
    assert "Privacy verdict:" in page.words and "no evidence of quality" not in page.words


def test_a_fidelity_above_the_real_reference_is_never_praise():
    from safe_bench.evaluation.scoring import against_reference

    for pillar in ("S", "C"):
        text = against_reference(0.99, 0.98, 1.0, 0.95, pillar)
        assert text.startswith("above the real reference") and "copies" in text
    assert "reveals less" in against_reference(0.99, 0.98, 1.0, 0.95, "P")
    assert against_reference(0.9, 0.85, 0.97, 0.95, "S").startswith("consistent")
    assert against_reference(0.5, 0.4, 0.6, 0.95, "C").startswith("below")


def _overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of drawn texts of a matplotlib figure whose boxes overlap (tick labels of
    ticks outside the view, which are not drawn, left out)."""
    import itertools

    import matplotlib.text
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    undrawn = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * abs(high - low)
            undrawn |= {id(label) for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                        if not low - slack <= tick.get_loc() <= high + slack for label in (tick.label1, tick.label2)}
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in undrawn]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
            if (cut := box_a.intersection(box_a, box_b)) is not None and cut.width > 1 and cut.height > 1]


@pytest.mark.parametrize("name", ["gbsg2", "veterans", "aids"])
def test_no_figure_of_the_evaluation_page_has_overlapping_labels(name, monkeypatch):
    from safe_bench import load_dataset
    from safe_bench.evaluation.evaluate import evaluate_generator
    from safe_bench.report import figures
    from safe_bench.report.evaluation import evaluation_page

    drawn = []
    encode = figures._uri
    monkeypatch.setattr(figures, "_uri", lambda fig, **kw: (drawn.append(fig), encode(fig, **kw))[1])
    dataset = load_dataset(name)
    result = evaluate_generator(dataset.frame, dataset.schema, load_generator("gaussian_copula"), seed=0,
                                n_bootstrap=10).result
    page = evaluation_page(result)
    assert len(drawn) == 1 + sum(f.image is not None for s in page.sections for f in s.figures) >= 6
    for fig in drawn:
        assert _overlapping_texts(fig) == [], fig.texts or [ax.get_title() for ax in fig.axes]


def test_log_ticks_are_round_and_few():
    from safe_bench.report.figures import log_ticks

    assert log_ticks(0.0015, 0.06) == [0.002, 0.005, 0.01, 0.02, 0.05]
    assert log_ticks(0.3, 4.0) == [0.5, 1.0, 2.0]
    assert log_ticks(0.8, 1.3) == [0.8, 1.0, 1.25]
    assert log_ticks(0.95, 1.05) == [0.95, 1.0, 1.05]
    assert log_ticks(1e-4, 1e4) == [1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 1e4][::2]


@pytest.mark.parametrize("name", ["gbsg2", "veterans"])
def test_cox_forest_has_round_labelled_ticks_and_the_holdout(name):
    from safe_bench import load_dataset, split
    from safe_bench.report.details import figures_for

    dataset = load_dataset(name)
    parts = split(dataset.frame, dataset.schema, seed=0)
    honest = load_generator("gaussian_copula")
    honest.fit(parts.train, dataset.schema, seed=0)
    result = evaluate(parts.train, honest.sample(len(parts.train), seed=0), parts.holdout, dataset.schema, seed=0,
                      n_bootstrap=10, metrics=["C.cox"])
    (figure,) = [f for f in figures_for("C", {m.id: m for m in result.metrics}) if f.title.startswith("Cox")]
    svg = Page(f'<img src="{figure.image}">').svgs()[0]
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    assert {"train (real)", "synthetic", "holdout (real, never seen)"} <= set(texts)
    terms = result.metric("C.cox").details["terms"]
    assert set(terms) <= set(texts)
    ticks = [float(t) for t in texts if re.fullmatch(r"[0-9.e+-]+", t)]
    assert 2 <= len(ticks) <= 8, ticks
    assert all(float(f"{t:.1g}") == t or t in (1.25, 1.5, 2.5, 7.0) for t in ticks), ticks  # round numbers only
    estimates = [v for entry in terms.values() for side in ("train", "table") for v in (entry[side]["hr"],)]
    assert min(ticks) <= max(min(estimates), 1.0) and max(ticks) >= min(max(estimates), 1.0)


def test_evaluation_page_is_deterministic(copy_run):
    result, _ = copy_run
    again = EvaluationResult.from_json(result.to_json())
    assert evaluation_html(result) == evaluation_html(again)


def record_cells(result: EvaluationResult, table: pd.DataFrame, columns: list[str]) -> set[tuple[str, ...]]:
    """Each row of ``table`` as the texts a report could print for it."""
    def texts(value) -> tuple[str, ...]:
        if isinstance(value, float):
            return (f"{value:.3f}", f"{value:g}", str(value), f"{value:.1f}") + ((str(int(value)),) if value.is_integer() else ())
        return (str(value),)
    return {tuple(sorted({t for c in columns for t in texts(row[c])})) for _, row in table.iterrows()}


def test_no_record_appears_even_when_the_synthetic_rows_are_real(copy_run, gbsg2_split):
    """The synthetic table copies training rows: neither a synthetic nor a real record
    may appear in a table row of the page or as a run of values in its text or figures."""
    result, synthetic = copy_run
    html = evaluation_html(result)
    page = Page(html)
    numeric = ["age", "tsize", "pnodes", "progrec", "estrec", "time"]
    svg_text = [t for svg in page.svgs() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]
    corpus = " ".join(page.text + svg_text)
    for table in (gbsg2_split.train, synthetic):
        for _, row in table.iterrows():
            values = [f"{row[c]:g}" for c in numeric]
            for tr in page.rows:
                shared = sum(any(v == cell or cell.startswith(v + " ") for cell in tr) for v in set(values))
                assert shared <= 1, f"a table row of the page shares {shared} values with a record"
            run = r"\D+".join(re.escape(v) for v in values[:3])
            assert not re.search(rf"(?<![\d.]){run}(?![\d.])", corpus)


def test_a_column_named_like_a_script_is_text(gbsg2, gbsg2_split):
    rename = {"menostat": XSS}
    schema = {k: v for k, v in gbsg2.schema.to_dict().items() if k not in ("scores", "findings")}
    schema["columns"] = {rename.get(k, k): v for k, v in schema["columns"].items()}
    for role in ("groups", "sensitive", "quasi_identifiers"):
        if role in schema.get("roles", {}):
            schema["roles"][role] = [rename.get(c, c) for c in schema["roles"][role]]
    from safe_bench.data.schema import Schema

    evil = Schema.from_dict(schema)
    train, holdout = (t.rename(columns=rename) for t in (gbsg2_split.train, gbsg2_split.holdout))
    result = evaluate(train, holdout, holdout, evil, n_bootstrap=10, metrics=["S.tv", "S.pairs", "C.km"])
    html = evaluation_html(result)
    assert_self_contained(html)
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_figures_without_their_data_are_left_out_with_a_note(copy_run):
    """A figure whose metrics have nothing to draw (every column left out, a metric that
    failed, a pair never compared) is not drawn, and the note says why."""
    result, _ = copy_run
    data = json.loads(result.to_json())
    for m in data["metrics"]:
        if m["id"] == "S.ks":
            m["details"] = {"columns": {"age": {"skipped": "all values missing in train"}}}
        if m["id"] == "S.tv":
            m["status"], m["reason"] = "error", "ValueError: broken"
        if m["id"] == "S.pairs":
            m["details"] = {"pairs": {"a | b": {"association": "pearson", "skipped": "a column is constant in train"}}}
    text = Page(evaluation_html(EvaluationResult.from_dict(data))).words
    assert ("Marginals: train versus synthetic: not drawn: S.ks compared no numeric column; S.tv error: "
            "ValueError: broken.") in text
    assert "Association differences between column pairs: not drawn: S.pairs compared no column pair." in text


def test_marginal_and_privacy_figures_come_from_aggregates_that_check_out(copy_run, gbsg2_split):
    """The details the figures draw: S.ks histograms equal numpy's on the same edges (values
    beyond them in the end bins), S.tv shares equal pandas' frequencies, the P.mia ROC
    encloses the AUC, and bootstrap_copy's distances to train are all 0."""
    from safe_bench import evaluate

    result, synthetic = copy_run
    train = gbsg2_split.train
    full = evaluate(train, synthetic, gbsg2_split.holdout, result.schema, seed=0, n_bootstrap=10,
                    metrics=["S.ks", "S.tv", "P.dcr_p5", "P.mia"])
    histogram = full.metric("S.ks").details["columns"]["age"]["histogram"]
    edges = np.array(histogram["edges"])
    inner = np.r_[-np.inf, edges[1:-1], np.inf]
    for table, key in ((train, "train"), (synthetic, "synthetic")):
        counts, _ = np.histogram(table["age"], bins=inner)
        assert histogram[key] == pytest.approx(counts / len(table))
    shares = full.metric("S.tv").details["columns"]["tgrade"]["shares"]
    expected = train["tgrade"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx([expected[c] for c in shares["categories"]])
    mia = full.metric("P.mia")
    assert np.trapezoid(mia.details["roc"]["tpr"], mia.details["roc"]["fpr"]) == pytest.approx(mia.value)
    dcr = full.metric("P.dcr_p5").details["histogram"]
    assert dcr["synthetic"][0] == len(synthetic) and sum(dcr["holdout"]) == len(gbsg2_split.holdout)
    captions = re.findall(r"<figcaption><strong>(.*?)\.</strong>", evaluation_html(full))
    assert {"Marginals: train versus synthetic", "Distances to the closest training record",
            "Membership inference: ROC curve"} <= set(captions)


def test_evaluate_writes_the_html_from_the_command_line(tmp_path, gbsg2, gbsg2_split, copy_run):
    _, synthetic = copy_run
    for name, table in (("train", gbsg2_split.train), ("holdout", gbsg2_split.holdout), ("synthetic", synthetic)):
        write_table(table, tmp_path / f"{name}.csv")
    (tmp_path / "schema.json").write_text(json.dumps(gbsg2.schema.to_dict()))
    out = tmp_path / "report.html"
    code = main(["evaluate", "--real", str(tmp_path / "train.csv"), "--synthetic", str(tmp_path / "synthetic.csv"),
                 "--holdout", str(tmp_path / "holdout.csv"), "--schema", str(tmp_path / "schema.json"),
                 "--metrics", ",".join(FAST), "--bootstrap", "10", "--html", str(out), "-q"])
    assert code == 0
    page = assert_self_contained(out.read_text())
    assert "SAFE report: synthetic.csv" in " ".join(page.text)


# -- the leaderboard site ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tiny_site):
    return tiny_site


def test_the_site_has_every_page_and_every_link_resolves(site):
    store, out = site
    pages = sorted(out.rglob("*.html"))
    expected = 1 + len(DATASETS) + len(DATASETS) * len(GENERATORS) * len(SEEDS)
    assert len(pages) == expected
    assert (out / "leaderboard.md").is_file() and (out / "leaderboard.json").is_file()
    for path in pages:
        page = assert_self_contained(path.read_text())
        for href in page.attributes("href"):
            assert (path.parent / href).resolve().is_file(), f"{path.name} links to a missing {href}"
    index = Page((out / "index.html").read_text())
    assert "tiny <b>board</b>" in " ".join(index.text)  # the title is shown as text, not markup


def test_the_leaderboard_matches_ranks_computed_by_hand(site):
    store, out = site
    with Store(store) as s:
        scores = s.scores("SAFE")
    means = scores.groupby(["dataset", "generator"])["score"].mean().unstack()
    ranks = means.apply(lambda row: pd.Series(stats.rankdata(-row.to_numpy()), index=row.index), axis=1)
    board = json.loads((out / "leaderboard.json").read_text())
    rows = board["leaderboard"]
    assert [r["generator"] for r in rows] == sorted(GENERATORS, key=lambda g: (ranks[g].mean(), -means[g].mean()))
    for r in rows:
        g = r["generator"]
        assert r["average_rank"] == pytest.approx(ranks[g].mean())
        per_dataset = means[g].to_numpy()
        assert r["SAFE"]["score"] == pytest.approx(per_dataset.mean())
        # per dataset: variance (mean within-seed + between-seed variance) / seeds; across the
        # datasets: the variance of their mean, sum / n^2; normal quantile (not a t over 2 datasets)
        z = stats.norm.ppf(0.975)
        variances = []
        for _, cell in scores[scores.generator == g].groupby("dataset"):
            within = np.mean(((cell.ci_high - cell.ci_low) / (2 * z)) ** 2)
            variances.append((within + max(0.0, cell.score.var(ddof=1) - within)) / len(cell))
        half = z * np.sqrt(sum(variances)) / len(variances)
        assert (r["SAFE"]["ci_low"], r["SAFE"]["ci_high"]) == pytest.approx(
            (max(0.0, per_dataset.mean() - half), min(1.0, per_dataset.mean() + half)))
        assert r["SAFE"]["status"] == "ok"
    index = Page((out / "index.html").read_text())
    table_rows = [row for row in index.rows if row and row[1] in GENERATORS]
    assert [row[1] for row in table_rows] == [r["generator"] for r in rows]
    md = (out / "leaderboard.md").read_text()
    assert md.count("| gaussian_copula |") == 1 + len(DATASETS) and "tiny &lt;b&gt;board&lt;/b&gt;" in md


def test_dataset_pages_show_seed_means_and_link_their_cells(site):
    store, out = site
    with Store(store) as s:
        scores = s.scores("SAFE")
    for name in DATASETS:
        page = Page((out / "datasets" / f"{name}.html").read_text())
        for g in GENERATORS:
            (row,) = [r for r in page.rows if len(r) > 1 and r[1] == g]
            values = scores[(scores.dataset == name) & (scores.generator == g)]["score"].to_numpy()
            assert row[2].startswith(f"{values.mean():.3f}")
            assert "seed 0" in row[-1] and "seed 1" in row[-1]


def test_a_failed_cell_is_listed_with_its_reason_and_ranked_last(site, tmp_path):
    import shutil

    from safe_bench.benchmark.store import CellRecord

    store = tmp_path / "with-failure.sqlite"
    shutil.copy(site[0], store)
    with Store(store) as s:
        s.record(CellRecord(key="broken", synthetic_key="broken", dataset="gbsg2", generator="broken <gen>",
                            generator_name="independent", params={}, seed=0, data_hash="test", version="test",
                            status="failed", stage="fit", reason="ValueError: boom <b>"))
    assert main(["report", str(store), "--out", str(tmp_path / "site"), "--no-cells", "-q"]) == 0
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    assert board["leaderboard"][-1]["generator"] == "broken <gen>" and board["leaderboard"][-1]["SAFE"]["score"] is None
    page = Page((tmp_path / "site" / "datasets" / "gbsg2.html").read_text())
    assert "broken <gen>, seed 0: failed: ValueError: boom <b>" in page.words
    assert not (tmp_path / "site" / "cells").exists()
    assert page.attributes("href") == ["../index.html"]  # --no-cells: no cell links


def test_report_refuses_an_empty_or_missing_store(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o")]) == 2
    Store(tmp_path / "empty.sqlite", create=True).close()
    assert main(["report", str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "o")]) == 2
    assert "holds no cell" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- figure helpers worked by hand -------------------------------------------------------------
def test_pareto_front_by_hand():
    points = [Point("a", 0.9, 0.5), Point("b", 0.8, 0.8), Point("c", 0.7, 0.7), Point("d", 0.6, 0.9),
              Point("e", 0.9, 0.4)]
    assert [p.label for p in pareto_front(points)] == ["d", "b", "a"]  # c is dominated by b, e by a


def test_no_critical_difference_diagram_when_the_test_cannot_run(tmp_path, site):
    from report_data import make_store
    from safe_bench.report.site import write_site

    one = make_store(tmp_path / "one.sqlite", datasets=("gbsg2",))
    write_site(one, tmp_path / "one", cells=False)
    page = Page((tmp_path / "one" / "index.html").read_text())
    assert "Critical-difference diagram: not drawn: the Friedman and Nemenyi tests need at least 2 datasets" in page.words
    assert not any("Critical-difference" in (a.get("alt") or "") for _, a in page.tags)
    _, out = site  # two datasets: the diagram is drawn
    drawn = Page((out / "index.html").read_text())
    assert "Nemenyi test, Demšar 2006" in drawn.words and "not drawn: the Friedman" not in drawn.words


def test_the_dataset_page_overlays_every_generators_survival_curve(tmp_path, site, monkeypatch):
    from report_data import make_store
    from safe_bench.metrics.charts import SurvivalPanels
    from safe_bench.report import site as site_module
    from safe_bench.report.site import write_site

    drawn = []
    draw = site_module.survival_panels
    monkeypatch.setattr(site_module, "survival_panels",
                        lambda title, plot, **kw: (drawn.append(plot), draw(title, plot, **kw))[1])
    store = make_store(tmp_path / "km.sqlite", datasets=("gbsg2",), metrics=["S.ks", "C.km", "P.exact", "P.dcr_share"])
    write_site(store, tmp_path / "km", cells=False)
    (plot,) = drawn
    assert isinstance(plot, SurvivalPanels) and plot.xlabel == "time (days)"
    levels = plot.panels["all patients"]
    assert [lv.level for lv in levels] == ["real patients", *GENERATORS]
    assert set(levels[0].curves) == {"train (real)", "holdout (real)"}
    assert all(set(lv.curves) == {"synthetic"} for lv in levels[1:])
    with Store(store, readonly=True) as opened:  # the curves are those of seed 0's cells
        result = opened.result(f"gbsg2-{GENERATORS[0]}-0")
    overall = result.metric("C.km").details["curves"]["overall"]
    assert list(levels[1].curves["synthetic"].y) == list(overall["table"]["survival"])
    assert list(levels[0].curves["train (real)"].y) == list(overall["train"]["survival"])
    page = Page((tmp_path / "km" / "datasets" / "gbsg2.html").read_text())
    assert "Kaplan-Meier curves of every generator" in [a.get("alt") for _, a in page.tags if a.get("alt")]
    _, out = site  # the tiny site's cells computed no C.km: the page says so
    assert "Kaplan-Meier curves of every generator: not drawn: C.km was not computed" in Page(
        (out / "datasets" / "gbsg2.html").read_text()).words


def test_critical_difference_cliques_by_hand():
    ranks = np.array([1.2, 1.9, 2.6, 3.9])  # CD 1.0: {1.2, 1.9}, {1.9, 2.6}, {3.9} alone
    assert _cliques(ranks, 1.0) == [(0, 1), (1, 2)]
    assert _cliques(ranks, 3.0) == [(0, 3)]
    assert _cliques(ranks, 0.5) == []


def test_metric_results_with_no_details_still_render():
    from safe_bench.report.evaluation import detail_tables

    odd = MetricResult("S.ks", "S", 0.1, 0.9, 0.8, 0.95, 0.9, "ok",
                       details={"columns": {"a": {"ks": 0.1, "nested": {"x": 1}}, "b": "text"}, "n": 3})
    (summary, columns) = detail_tables(odd)
    assert summary.rows == [["n", "3"]] and columns.header == ["columns", "ks"] and columns.rows == [["a", "0.100"]]


# -- incomplete pillars ---------------------------------------------------------------------------
#: Two clinical metrics: with C.km broken, C.censoring alone would give C a number.
TWO_C = ["S.ks", "S.tv", "C.km", "C.censoring", "P.exact", "P.dcr_share"]


def test_an_incomplete_pillar_shows_incomplete_on_the_page_and_in_the_terminal(tmp_path, break_metric, gbsg2,
                                                                                gbsg2_split, copy_run, capsys):
    _, synthetic = copy_run
    for name, table in (("train", gbsg2_split.train), ("holdout", gbsg2_split.holdout), ("synthetic", synthetic)):
        write_table(table, tmp_path / f"{name}.csv")
    (tmp_path / "schema.json").write_text(json.dumps(gbsg2.schema.to_dict()))
    break_metric("C.km")
    out = tmp_path / "broken.html"
    code = main(["evaluate", "--real", str(tmp_path / "train.csv"), "--synthetic", str(tmp_path / "synthetic.csv"),
                 "--holdout", str(tmp_path / "holdout.csv"), "--schema", str(tmp_path / "schema.json"),
                 "--metrics", ",".join(TWO_C), "--bootstrap", "20", "--html", str(out), "--json",
                 str(tmp_path / "broken.json")])
    assert code == 0
    result = EvaluationResult.from_json((tmp_path / "broken.json").read_text())
    censoring = result.metric("C.censoring")
    assert censoring.ok and result.pillars["C"].status == "incomplete" and result.score("C") is None
    text = capsys.readouterr().out
    (c_line,) = [line for line in text.splitlines() if line.startswith("C  clinical utility")]
    assert re.match(r"C  clinical utility\s+incomplete\s", c_line) and "C.km: RuntimeError; its message and traceback" in c_line
    (safe_line,) = [line for line in text.splitlines() if line.startswith("SAFE  ")]
    assert re.match(r"SAFE  weighted geometric mean of S, C, P\s+incomplete\s", safe_line)
    words = assert_self_contained(out.read_text()).words
    assert "C — clinical utility: incomplete" in words
    assert "C · clinical utility incomplete no interval" in words and "SAFE · SAFE" not in words
    assert "1 metric(s) failed (C.km: RuntimeError; its message and traceback" in words
    assert f"clinical utility: {censoring.score:.3f}" not in words  # not the mean of the metric that ran


def test_the_leaderboard_shows_an_incomplete_cell_as_incomplete(site, tmp_path, break_metric, gbsg2, capsys):
    import shutil

    from report_data import STORE_METRICS
    from safe_bench import split
    from safe_bench.benchmark.store import CellRecord

    store = tmp_path / "with-incomplete.sqlite"
    shutil.copy(site[0], store)
    parts = split(gbsg2.frame, gbsg2.schema, seed=1)
    generator = load_generator("gaussian_copula")
    generator.fit(parts.train, gbsg2.schema, seed=1)
    break_metric("C.censoring")
    result = evaluate(parts.train, generator.sample(len(parts.train), seed=1), parts.holdout, gbsg2.schema, seed=1,
                      n_bootstrap=10, metrics=STORE_METRICS)
    assert result.pillars["C"].status == "incomplete"
    with Store(store) as s:  # the cell of seed 1 evaluated again, with its C metric failing
        s.record(CellRecord(key="gbsg2-gaussian_copula-1", synthetic_key="x", dataset="gbsg2",
                            generator="gaussian_copula", generator_name="gaussian_copula", params={}, seed=1,
                            data_hash="test", version="test", status="ok", result_json=result.to_json()))
    assert main(["report", str(store), "--out", str(tmp_path / "site"), "--no-cells", "-q"]) == 0
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    (row,) = [r for r in board["datasets"]["gbsg2"]["rows"] if r["generator"] == "gaussian_copula"]
    for key in ("C", "SAFE"):
        assert row[key]["score"] is None and row[key]["status"] == "incomplete"
        assert row[key]["reason"].startswith("seed 1: ")
    assert row["S"]["status"] == "ok" and row["S"]["score"] is not None
    overall = {r["generator"]: r for r in board["leaderboard"]}["gaussian_copula"]
    assert overall["C"]["score"] is None and overall["C"]["status"] == "incomplete"
    assert overall["C"]["reason"].startswith("gbsg2: seed 1: incomplete: 1 metric(s) failed (C.censoring")
    page = Page((tmp_path / "site" / "datasets" / "gbsg2.html").read_text())
    (cells,) = [r for r in page.rows if len(r) > 1 and r[1] == "gaussian_copula"]
    assert cells[2].startswith("incomplete (seed 1: ") and cells[4].startswith("incomplete (seed 1: ")
    assert "C.censoring: RuntimeError; its message and traceback" in cells[4]
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "| gaussian_copula | incomplete (seed 1: incomplete: SAFE needs every weighted pillar" in md
    assert "| gaussian_copula | incomplete (gbsg2: seed 1: incomplete: SAFE needs every weighted pillar" in md
    assert main(["results", str(store)]) == 0
    text = capsys.readouterr().out
    (gbsg2_line,) = [line for line in text.splitlines() if line.startswith("gbsg2 ")]
    assert gbsg2_line.split()[1:3] == ["incomplete", "(2)"]  # ranked last on gbsg2, no number
    assert "  gbsg2 x gaussian_copula: seed 1: incomplete: SAFE needs every weighted pillar" in text


def test_every_page_says_which_source_wrote_it_and_ran_its_cells(site, tmp_path):
    """The commit of the checkout (or the release) on every page, and the runs' sources
    from the store's manifests (the tiny store records no run)."""
    from safe_bench.provenance import source_commit
    from safe_bench.report.html import built_at

    _, out = site
    assert built_at().endswith(f"at commit {source_commit()}") if source_commit() else "commit" not in built_at()
    expected = f"{built_at()}, from cells run at no recorded run"
    for path in out.rglob("*.html"):
        assert f"Generated by {expected}." in path.read_text(), path
    assert json.loads((out / "leaderboard.json").read_text())["provenance"] == expected
    assert (out / "leaderboard.md").read_text().endswith(f"Generated by {expected}.\n")
