"""pytest hooks and fixtures of the agenteval plugin (the `pytest11` entry point)."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .options import add_options, read_options

if TYPE_CHECKING:
    from ..runner import RunOutcome
    from .api import AgentEvalFixture

_SUITE_SUFFIXES = (".yaml", ".yml", ".json")


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "agenteval(suite=None, backend=None, **options): run an agenteval "
                            "suite for the `eval_run` fixture")
    # pytest-xdist: keep each suite's items on one worker (`--dist loadfile` groups by file), so a suite
    # runs once and nothing is counted twice. (`loadgroup` would be finer, but it relies on rewriting node
    # ids, which pytest 9 no longer allows.) Only when suites are collected in this session.
    if getattr(config.option, "dist", "no") == "load" and _collects_suites(config):
        config.option.dist = "loadfile"
    config.pluginmanager.register(_Reporter(), "agenteval-reporter")


def _collects_suites(config: pytest.Config) -> bool:
    if config.getini("agenteval_suites"):
        return True
    return any(Path(arg.split("::")[0]).suffix in _SUITE_SUFFIXES for arg in config.args)


def _named_on_command_line(config: pytest.Config, path: Path) -> bool:
    for arg in config.args:
        target = Path(arg.split("::")[0])
        if not target.is_absolute():
            target = Path(config.invocation_params.dir) / target
        if target.resolve() == path.resolve():
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in _SUITE_SUFFIXES:
        return None
    config = parent.config
    patterns: list[str] = config.getini("agenteval_suites")
    rel = file_path.relative_to(config.rootpath).as_posix() if file_path.is_relative_to(config.rootpath) else ""
    matched = any(fnmatch.fnmatch(rel, pat) or (pat.startswith("**/") and fnmatch.fnmatch(rel, pat[3:]))
                  for pat in patterns)
    if not matched and not _named_on_command_line(config, file_path):
        return None
    from .items import SuiteFile

    node: pytest.Collector = SuiteFile.from_parent(parent, path=file_path)
    return node


class _Reporter:
    """Collects per-item scores from test reports (also on the xdist controller, where reports arrive
    with their user_properties) and prints the terminal summary section."""

    def __init__(self) -> None:
        self.metrics: dict[str, dict[str, list[float]]] = {}
        self.flaky: list[str] = []
        self.run_dirs: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        props = dict(report.user_properties)
        suite = props.get("agenteval:suite")
        if suite is not None:
            table = self.metrics.setdefault(str(suite), {})
            for key, value in report.user_properties:
                if key.count(":") == 1 and key.startswith("agenteval:") and key != "agenteval:suite" \
                        and isinstance(value, (int, float)) and not isinstance(value, bool):
                    table.setdefault(key.split(":", 1)[1], []).append(float(value))
            if props.get("agenteval:flaky"):
                self.flaky.append(report.nodeid)
        if "agenteval:run_dir" in props:
            self.run_dirs.append(str(props["agenteval:run_dir"]))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.metrics and not self.run_dirs:
            return
        tr = terminalreporter
        tr.section("agenteval")
        for suite, metrics in sorted(self.metrics.items()):
            tr.write_line(f"suite {suite}")
            tr.write_line(f"  {'metric':<28} {'mean':>8} {'n':>6}")
            for name, values in metrics.items():
                tr.write_line(f"  {name:<28} {sum(values) / len(values):>8.3f} {len(values):>6}")
        if self.flaky:
            tr.write_line(f"flaky (pass in some repeats, fail in others): {', '.join(self.flaky)}")
        for rd in sorted(self.run_dirs):
            tr.write_line(f"run folder: {rd}")


@pytest.fixture
def agenteval(request: pytest.FixtureRequest) -> AgentEvalFixture:
    """Run samples and suites from a test: `agenteval.run_sample(...)`, `agenteval.run_suite(...)`."""
    from .api import AgentEvalFixture

    opts = read_options(request.config)
    return AgentEvalFixture(opts.out, backend=opts.backend, use_cache=not opts.no_cache)


@pytest.fixture
def eval_run(request: pytest.FixtureRequest, agenteval: AgentEvalFixture) -> RunOutcome:
    """The outcome of the suite named by the test's `@pytest.mark.agenteval(suite=..., backend=...)`."""
    marker = request.node.get_closest_marker("agenteval")
    if marker is None or "suite" not in marker.kwargs:
        raise pytest.UsageError("eval_run needs @pytest.mark.agenteval(suite='path/to/suite.yaml', ...)")
    kwargs = dict(marker.kwargs)
    suite = Path(kwargs.pop("suite"))
    if not suite.is_absolute():
        suite = Path(request.config.rootpath) / suite
    return agenteval.run_suite(suite, backend=kwargs.pop("backend", None), **kwargs)
