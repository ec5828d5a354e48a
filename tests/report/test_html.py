"""The HTML report as a user sees it: real runs, the builder's output, and the page in real headless Chromium."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agenteval.cli.report import report_cmd
from agenteval.errors import ConfigError
from agenteval.report import build_report_data, embed_json, find_suite, render_report
from agenteval.runner import RunOptions, run_suite
from agenteval.schema.compare import CaseChange, Comparison, MetricComparison, RunRef
from agenteval.store import LoadedRun, load_run
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAYLOAD = "</script><script>alert(1)</script>"
IMG_PAYLOAD = "<img src=x onerror=\"document.title='pwned'\">"

AGENT_SUITE = f"""
name: report-agent
version: "2"
backend: {{spec: "stub:scripted"}}
tools:
  - name: lookup_order
    parameters: {{type: object, properties: {{order_id: {{type: string}}}}, required: [order_id]}}
  - name: cancel_order
    parameters: {{type: object, properties: {{order_id: {{type: string}}}}, required: [order_id]}}
metrics: [exact_match, includes]
samples:
  - id: inject
    input: {json.dumps(IMG_PAYLOAD)}
    expected: shipped
    tags: ["<b>html-tag</b>"]
    expected_trajectory:
      - {{tool: lookup_order, args: {{order_id: "1002"}}}}
      - {{tool: cancel_order, args: {{order_id: "1002"}}}}
    script:
      output: {json.dumps(PAYLOAD)}
      tool_calls: [{{tool: lookup_order, args: {{order_id: "1002"}}}}]
  - id: plain
    input: Where is order 1001?
    expected: shipped
    tags: [orders]
    script: {{output: shipped}}
"""


def _run(suite_path: Path, results: Path, backend: str | None) -> LoadedRun:
    outcome = asyncio.run(run_suite(load_suite(suite_path), RunOptions(results_root=results, backend_spec=backend,
                                                                        progress=False)))
    return load_run(str(outcome.run_dir.path), results, results / "baselines")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def qa_run(results: Path) -> LoadedRun:
    return _run(REPO / "suites" / "qa.yaml", results, "stub:echo")


@pytest.fixture(scope="module")
def agent_run(results: Path, tmp_path_factory: pytest.TempPathFactory) -> LoadedRun:
    suite = tmp_path_factory.mktemp("suite") / "agent.yaml"
    suite.write_text(AGENT_SUITE)
    return _run(suite, results, None)


def _embedded(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m is not None
    data: dict[str, Any] = json.loads(m.group(1))
    return data


# --- the builder, no browser ----------------------------------------------------------------------------


def test_report_html_carries_the_runs_numbers_and_every_result(qa_run: LoadedRun) -> None:
    page = render_report(qa_run, suite=find_suite(qa_run).suite)
    assert qa_run.summary is not None
    for key, m in qa_run.summary.metrics.items():
        assert m.mean is not None
        row = re.search(rf'<tr data-metric="{key}">(.*?)</tr>', page, re.S)
        assert row is not None, key
        assert f'<td class="num mean">{m.mean:.3f}</td>' in row.group(1)
        assert f'<td class="num n">{m.n}</td>' in row.group(1)
    assert "≥ 0.7" in page and ">FAIL<" in page  # exact_match misses its threshold with stub:echo
    assert qa_run.manifest.run_id in page and "stub:echo" in page and "agenteval" in page
    data = _embedded(page)
    assert [s["id"] for s in data["samples"]] == [r.sample_id for r in qa_run.results]
    assert data["metrics"] == ["exact_match", "includes", "fuzzy_match"]
    assert "geography" in data["tags"]
    assert "changed since the run" not in page


def test_untrusted_text_cannot_close_the_data_block_or_add_markup(agent_run: LoadedRun) -> None:
    page = render_report(agent_run, suite=find_suite(agent_run).suite)
    assert PAYLOAD not in page and IMG_PAYLOAD not in page and "<b>html-tag" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    samples = {s["id"]: s for s in _embedded(page)["samples"]}
    assert samples["inject"]["output"] == PAYLOAD and samples["inject"]["input"] == IMG_PAYLOAD
    assert "&lt;b&gt;html-tag&lt;/b&gt;" in page  # the tag in the SVG breakdown, escaped
    # the page's own script is the only one the CSP admits, and no request may leave the page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy and "unsafe" not in policy


@pytest.mark.parametrize("text", [PAYLOAD, "<!--<script>", "a & b > c", "line\u2028sep\u2029", "ünïcødé"])
def test_embed_json_round_trips_without_markup_characters(text: str) -> None:
    encoded = embed_json(json.dumps({"t": text}, ensure_ascii=False))
    assert not set("<>&") & set(encoded)
    assert json.loads(encoded) == {"t": text}


def test_expected_trajectory_comes_from_the_suite_only_for_unchanged_samples(agent_run: LoadedRun,
                                                                           tmp_path: Path) -> None:
    data = build_report_data(agent_run, suite=find_suite(agent_run).suite)
    inject = next(s for s in data.samples if s.id == "inject")
    assert [s.tool for s in inject.trajectory or []] == ["lookup_order"]
    assert [s.tool for s in inject.expected_trajectory or []] == ["lookup_order", "cancel_order"]
    assert inject.failed is True and next(s for s in data.samples if s.id == "plain").failed is False

    changed = tmp_path / "agent.yaml"
    changed.write_text(AGENT_SUITE.replace('order_id: "1002"}}\n    script', 'order_id: "9"}}\n    script'))
    moved = LoadedRun(agent_run.manifest.model_copy(
        update={"suite": agent_run.manifest.suite.model_copy(update={"path": str(changed)})}),
        agent_run.summary, agent_run.results, agent_run.source)
    lookup = find_suite(moved)
    assert lookup.suite is not None and any("changed since the run" in n for n in lookup.notes)
    inject = next(s for s in build_report_data(moved, suite=lookup.suite).samples if s.id == "inject")
    assert inject.expected_trajectory is None  # never a stale expected trajectory

    gone = LoadedRun(moved.manifest.model_copy(
        update={"suite": moved.manifest.suite.model_copy(update={"path": str(tmp_path / "nope.yaml")})}),
        None, agent_run.results, agent_run.source)
    lookup = find_suite(gone)
    assert lookup.suite is None and "not found" in lookup.notes[0]
    page = render_report(gone, notes=lookup.notes)  # an unfinished run: summary computed from the results
    assert "Unfinished run" in page and "not found" in page
    assert re.search(r'<tr data-metric="exact_match"><td class="metric">exact_match</td>'
                     r'<td class="num mean">0.500<', page)


def _comparison() -> Comparison:
    ref = RunRef(run_id="base-1", source="baselines/main.json", backend="stub:golden", suite="qa-basics",
                 suite_version="1")
    metric = dict(n_pairs=7, n_unpaired=0, delta_ci_low=None, delta_ci_high=None, test="mcnemar_exact", mde=0.4)
    return Comparison(
        baseline=ref, candidate=ref.model_copy(update={"run_id": "cand-1"}), n_paired_cases=7,
        metrics=[
            MetricComparison(metric="includes", baseline_mean=0.5, candidate_mean=0.6, delta=0.1, p_value=0.5,
                             verdict="improved", **metric),  # type: ignore[arg-type]
            MetricComparison(metric="exact_match", baseline_mean=1.0, candidate_mean=0.0, delta=-1.0,
                             p_value=0.0002, verdict="regressed", **metric),  # type: ignore[arg-type]
        ],
        cases=[
            CaseChange(sample_id="water-formula", metric="includes", kind="newly passing", baseline="fail",
                       candidate="pass", baseline_value=0.0, candidate_value=1.0, baseline_output="x",
                       candidate_output="H2O"),
            CaseChange(sample_id="capital-france", metric="exact_match", kind="newly failing", baseline="pass",
                       candidate="fail", baseline_value=1.0, candidate_value=0.0, baseline_output="Paris",
                       candidate_output=PAYLOAD, diff=f"-Paris\n+{PAYLOAD}"),
        ],
    )


def test_comparison_section_lists_regressions_first(qa_run: LoadedRun) -> None:
    page = render_report(qa_run, _comparison())
    section = page[page.index('<section id="comparison">'):page.index('<section id="samples">')]
    assert section.index("regressed") < section.index("improved")
    assert section.index("newly failing") < section.index("newly passing")
    assert "-1.000" in section and "&lt; 0.001" in section and "base-1" in section
    assert PAYLOAD not in page
    rows = {s["id"]: s for s in _embedded(page)["samples"]}
    assert rows["capital-france"]["changes"] == ["exact_match: newly failing"]


def test_report_command_writes_into_the_run_folder_and_compares(results: Path, qa_run: LoadedRun) -> None:
    golden = _run(REPO / "suites" / "qa.yaml", results, "stub:golden")
    cli = CliRunner()
    res = cli.invoke(report_cmd, [qa_run.manifest.run_id, "--results", str(results)])
    assert res.exit_code == 0, res.output
    path = Path(qa_run.source) / "report.html"
    assert res.output.strip() == str(path) and path.is_file()

    out = results / "cmp.html"
    res = cli.invoke(report_cmd, [qa_run.source, "--compare", golden.manifest.run_id, "--results", str(results),
                                  "--html", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    section = page[page.index('<section id="comparison">'):page.index('<section id="samples">')]
    assert re.search(r'<td class="metric">exact_match</td>.*?<td class="verdict fail">regressed</td>', section)
    assert "newly failing" in section

    res = cli.invoke(report_cmd, ["no-such-run", "--results", str(results)])
    assert isinstance(res.exception, ConfigError) and "no run or baseline" in str(res.exception)


# --- the page in real headless Chromium ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (`make browser` installs it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    def no_download(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("selenium-manager must not run: it would look for or download a browser")

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--disable-default-apps", "--window-size=1400,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"  # an alert() stays open, so the test can see it
    service = Service(str(CHROMEDRIVER), log_output=str(profile / "chromedriver.log"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")
        mp.setattr(selenium_manager.SeleniumManager, "binary_paths", no_download)
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_page_load_timeout(20)
            driver.set_script_timeout(10)
            yield driver
        finally:
            driver.quit()


def _open(driver: Any, page: Path, n_rows: int) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.as_uri())
    WebDriverWait(driver, 10).until(
        lambda d: len(d.find_elements("css selector", "#sample-table tbody tr.sample")) == n_rows)


def _visible_ids(driver: Any) -> list[str]:
    return list(driver.execute_script(
        "return [...document.querySelectorAll('#sample-table tbody tr.sample')].filter(r => !r.hidden)"
        ".map(r => r.dataset.id)"))


def _severe(driver: Any) -> list[Any]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def test_browser_shows_the_numbers_every_row_and_filters(browser: Any, qa_run: LoadedRun, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    page = tmp_path / "report.html"
    page.write_text(render_report(qa_run, suite=find_suite(qa_run).suite))
    ids = [r.sample_id for r in qa_run.results]
    _open(browser, page, len(ids))
    assert qa_run.summary is not None
    m = qa_run.summary.metrics["fuzzy_match"]
    row = browser.find_element("css selector", '#summary-table tr[data-metric="fuzzy_match"]')
    assert row.find_element("css selector", "td.mean").text == f"{m.mean:.3f}"
    assert row.find_element("css selector", "td.n").text == str(m.n)
    assert qa_run.manifest.run_id in browser.find_element("id", "facts").text
    assert _visible_ids(browser) == ids

    search = browser.find_element("id", "search")
    search.send_keys("KENYA")
    assert _visible_ids(browser) == ["continent-kenya"]
    assert browser.find_element("id", "shown-count").text == f"1 of {len(ids)} shown"
    search.clear()
    search.send_keys("no such text anywhere")
    assert _visible_ids(browser) == []
    browser.execute_script("const s = document.getElementById('search'); s.value = '';"
                           "s.dispatchEvent(new Event('input'))")
    assert _visible_ids(browser) == ids

    Select(browser.find_element("id", "tag-filter")).select_by_value("from-file")
    assert _visible_ids(browser) == [r.sample_id for r in qa_run.results if "from-file" in r.tags]
    Select(browser.find_element("id", "tag-filter")).select_by_value("")
    Select(browser.find_element("id", "metric-filter")).select_by_value("includes")
    browser.find_element("id", "failed-only").click()
    failing = [r.sample_id for r in qa_run.results if r.scores["includes"].passed is False]
    assert _visible_ids(browser) == failing and len(failing) < len(ids)  # stub:echo passes `includes` once
    shown = browser.find_elements("css selector", "#sample-table tr.sample:not([hidden]) .score:not([hidden])")
    assert shown and all(s.text.startswith("includes:") for s in shown)

    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert _severe(browser) == []


def test_browser_shows_injected_answers_as_text(browser: Any, agent_run: LoadedRun, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    page = tmp_path / "report.html"
    page.write_text(render_report(agent_run, suite=find_suite(agent_run).suite))
    _open(browser, page, len(agent_run.results))
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check
    row = browser.find_element("css selector", 'tr.sample[data-id="inject"]')
    assert PAYLOAD in row.find_element("css selector", ".answer").text
    assert IMG_PAYLOAD in row.text and "<b>html-tag</b>" in row.text
    counts = browser.execute_script("return [document.scripts.length, document.images.length, document.title]")
    assert counts[0] == 2 and counts[1] == 0 and "pwned" not in counts[2]
    steps = row.find_element("css selector", "table.steps").text
    assert "called" in steps and "expected" in steps and 'cancel_order(order_id="1002")' in steps
    assert _severe(browser) == []
