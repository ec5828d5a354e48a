"""`make audit` offline: scripts/audit_offline.py checks constraints.txt and pyproject.toml against
audit/advisories.toml, then reads pip-audit's report (here a fake pip-audit: no network in tests)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "audit_offline.py"
CONSTRAINTS = REPO / "constraints.txt"
PYPROJECT = REPO / "pyproject.toml"
ADVISORIES = REPO / "audit" / "advisories.toml"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_offline", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["audit_offline"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


audit = _module()


def _audit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def _constraints_with(tmp_path: Path, litellm_line: str) -> Path:
    """The real constraints.txt with its litellm pin replaced."""
    text = CONSTRAINTS.read_text()
    assert re.search(r"^litellm==", text, flags=re.M)
    out = tmp_path / "constraints.txt"
    out.write_text(re.sub(r"^litellm==.*$", litellm_line, text, flags=re.M))
    return out


def _pyproject_with(tmp_path: Path, litellm_req: str) -> Path:
    text = PYPROJECT.read_text()
    new, n = re.subn(r'"litellm[^"]*"', json.dumps(litellm_req), text, count=1)
    assert n == 1
    out = tmp_path / "pyproject.toml"
    out.write_text(new)
    return out


def test_the_real_constraints_and_pyproject_pass() -> None:
    p = _audit()
    assert p.returncode == 0, p.stdout + p.stderr
    n_pins = sum(1 for x in CONSTRAINTS.read_text().splitlines() if "==" in x and not x.startswith("#"))
    assert f"offline audit: {n_pins} pins in constraints.txt" in p.stdout
    assert "none affected" in p.stdout and "AUDIT FAILED" not in p.stdout


def test_the_advisories_name_the_compromised_litellm_releases() -> None:
    advisories = [a for a in audit.load_advisories(ADVISORIES) if a.package == "litellm"]
    assert advisories and all("supply-chain compromise" in a.summary.lower() for a in advisories)

    def affected(v: str) -> bool:
        return any(a.matches(Version(v)) for a in advisories)

    for bad in ["1.82.7", "1.82.8", "1.107.0", "1.107.2", "1.107.15", "1.107.0rc1", "1.107.3.post1"]:
        assert affected(bad), bad
    for good in ["1.82.6", "1.82.9", "1.83.0", "1.106.12", "1.108.0", "1.17.0"]:
        assert not affected(good), good


@pytest.mark.parametrize(("pin", "advisory"), [
    ("litellm==1.82.7", "AGENTEVAL-2026-001"),
    ("litellm==1.82.8", "AGENTEVAL-2026-001"),
    ("litellm==1.107.0", "AGENTEVAL-2026-002"),
    ("litellm==1.107.2", "AGENTEVAL-2026-002"),
    ("LiteLLM==1.107.2", "AGENTEVAL-2026-002"),  # names are compared normalized
])
def test_a_compromised_pin_fails_naming_package_version_and_advisory(tmp_path: Path, pin: str,
                                                                      advisory: str) -> None:
    constraints = _constraints_with(tmp_path, pin)
    lineno = constraints.read_text().splitlines().index(pin) + 1
    p = _audit("--constraints", constraints)
    assert p.returncode == 1, p.stdout + p.stderr
    version = pin.split("==")[1]
    failures = [x for x in p.stdout.splitlines() if x.startswith("AUDIT FAILED")]
    assert len(failures) == 1
    assert f"constraints.txt:{lineno}: litellm {version} (pinned by {pin}) is affected" in failures[0]
    assert f"advisory {advisory}" in failures[0] and "Supply-chain compromise" in failures[0]
    assert "offline audit: FAILED, 1 finding(s)" in p.stdout


@pytest.mark.parametrize("pin", ["litellm==1.82.6", "litellm==1.106.12", "litellm==1.108.0"])
def test_a_clean_pin_passes(tmp_path: Path, pin: str) -> None:
    p = _audit("--constraints", _constraints_with(tmp_path, pin))
    assert p.returncode == 0, p.stdout + p.stderr


def test_pyprojects_litellm_requirement_excludes_the_compromised_releases() -> None:
    reqs = [r for _, r in audit.read_pyproject(PYPROJECT) if r.name == "litellm"]
    assert len(reqs) == 1
    (req,) = reqs
    for bad in ["1.82.7", "1.82.8", "1.107.0", "1.107.1", "1.107.9"]:
        assert not req.specifier.contains(bad, prereleases=True), bad
    assert req.specifier.contains("1.106.12")  # the pinned release is allowed
    assert audit.check([("pyproject.toml", req)], audit.load_advisories(ADVISORIES)) == []


@pytest.mark.parametrize(("req", "found"), [
    ("litellm", ["1.82.7", "1.107.0"]),
    ("litellm>=1.80", ["1.82.7", "1.107.0"]),
    ("litellm>=1.80,!=1.82.7", ["1.82.8", "1.107.0"]),
    ("litellm>=1.83,<1.108", ["1.107.0"]),
    ("litellm>=1.83,<1.107.3,!=1.107.0,!=1.107.1,!=1.107.2", ["1.107.0.1"]),
    ("litellm~=1.82.0", ["1.82.7"]),
])
def test_a_pyproject_allowing_a_compromised_release_fails(tmp_path: Path, req: str, found: list[str]) -> None:
    p = _audit("--pyproject", _pyproject_with(tmp_path, req))
    assert p.returncode == 1, p.stdout + p.stderr
    failures = [x for x in p.stdout.splitlines() if x.startswith("AUDIT FAILED")]
    assert [re.search(r"litellm (\S+) \(allowed by", x)[1] for x in failures] == found  # type: ignore[index]
    assert all("pyproject.toml [project] dependencies" in x for x in failures)


@pytest.mark.parametrize("req", ["litellm>=1.83.0,<1.107", "litellm>=1.83,!=1.107.*", "litellm~=1.106.0"])
def test_a_pyproject_excluding_them_passes(tmp_path: Path, req: str) -> None:
    p = _audit("--pyproject", _pyproject_with(tmp_path, req))
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize(("name", "text", "message"), [
    ("advisories.toml", '[[advisory]]\nid = "X"\npackage = "litellm"\nsummary = "s"\n', "missing affected"),
    ("advisories.toml", '[[advisory]]\nid = "X"\npackage = "p"\naffected = ["=>1"]\nsummary = "s"\n',
     "Invalid specifier"),
    ("advisories.toml", "not toml [", "cannot read the advisories"),
    ("constraints.txt", "-e .\n", "option line"),
    ("constraints.txt", "pkg @ https://example.invalid/p.whl\n", "comes from a URL"),
])
def test_unreadable_inputs_exit_2(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    p = _audit("--advisories" if name == "advisories.toml" else "--constraints", path)
    assert p.returncode == 2 and message in p.stderr, p.stdout + p.stderr


FAKE_PIP_AUDIT = """#!{python}
import json, sys
from pathlib import Path
Path(sys.argv[0] + ".args").write_text(json.dumps(sys.argv[1:]))
{body}
"""


def _fake_pip_audit(tmp_path: Path, body: str) -> Path:
    exe = tmp_path / "pip-audit"
    exe.write_text(FAKE_PIP_AUDIT.format(python=sys.executable, body=body))
    exe.chmod(0o755)
    return exe


UNREACHABLE = ('print(json.dumps({"dependencies": [{"name": n, "skip_reason": "Dependency not found on PyPI and '
               'could not be audited: " + n} for n in ("litellm", "rich")], "fixes": []}))')
VULNERABLE = ('print(json.dumps({"dependencies": [{"name": "rich", "version": "13.0.0", "vulns": []}, '
              '{"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["3.1.3"], '
              '"aliases": ["CVE-0000-1"], "description": "x"}]}], "fixes": []})); sys.exit(1)')
CLEAN = 'print(json.dumps({"dependencies": [{"name": "rich", "version": "13.0.0", "vulns": []}], "fixes": []}))'
CONNECTION_ERROR = 'sys.stderr.write("requests.exceptions.ConnectionError: Max retries exceeded\\n"); sys.exit(1)'
CRASH = 'sys.stderr.write("ValueError: bad requirements file\\n"); sys.exit(1)'


@pytest.mark.parametrize(("body", "rc", "says"), [
    (UNREACHABLE, 0, "pip-audit: COULD NOT REACH its advisory service: none of the 2 packages could be audited"),
    (CONNECTION_ERROR, 0, "pip-audit: COULD NOT REACH its advisory service"),
    (CLEAN, 0, "pip-audit: no known vulnerabilities in the 1 audited packages"),
    (VULNERABLE, 1, "pip-audit: VULNERABLE jinja2==3.1.2: PYSEC-0000-1 (CVE-0000-1), fixed in: 3.1.3"),
    (CRASH, 1, "pip-audit: FAILED (exit 1) without a report: ValueError: bad requirements file"),
])
def test_pip_audit_step(tmp_path: Path, body: str, rc: int, says: str) -> None:
    exe = _fake_pip_audit(tmp_path, body)
    reqs = tmp_path / "audit-requirements.txt"
    reqs.write_text("rich==13.0.0\n")
    p = _audit("--pip-audit", exe, "--pip-audit-requirements", reqs)
    assert p.returncode == rc, p.stdout + p.stderr
    assert "none affected" in p.stdout  # the offline check ran first
    assert says in p.stdout
    args = json.loads(Path(str(exe) + ".args").read_text())
    assert args[args.index("-r") + 1] == str(reqs) and "--no-deps" in args and args[-2:] == ["-f", "json"]


def test_pip_audit_missing_is_reported_not_fatal(tmp_path: Path) -> None:
    p = _audit("--pip-audit", tmp_path / "nowhere" / "pip-audit")
    assert p.returncode == 0 and "pip-audit: not installed" in p.stdout and "none affected" in p.stdout


def test_an_offline_finding_fails_even_when_pip_audit_cannot_reach_its_service(tmp_path: Path) -> None:
    p = _audit("--constraints", _constraints_with(tmp_path, "litellm==1.107.2"),
               "--pip-audit", _fake_pip_audit(tmp_path, UNREACHABLE))
    assert p.returncode == 1 and "AGENTEVAL-2026-002" in p.stdout and "COULD NOT REACH" in p.stdout


def test_make_audit_runs_the_offline_check_and_pip_audit() -> None:
    recipe = re.search(r"^audit:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), flags=re.M)
    assert recipe is not None
    text = recipe[1].replace("\\\n", " ")
    assert "scripts/audit_offline.py" in text and "--advisories audit/advisories.toml" in text
    assert "--pip-audit $(VENV)/bin/pip-audit" in text
