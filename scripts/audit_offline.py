"""Dependency audit that works without network: `make audit` runs it.

1. Offline (always): every pin in constraints.txt, and every requirement in pyproject.toml
   ([project] dependencies and optional-dependencies), is checked against the advisories shipped in
   audit/advisories.toml (package, affected PEP 440 specifiers, id, summary). A pin inside an affected
   range, or a requirement that still allows an affected version, fails the audit with the package, the
   version and the advisory. Whether a requirement allows an affected version is decided on a finite set of
   probe versions built from every version both specifier sets name (the versions themselves, their
   neighbours and wildcard prefixes' first releases): exact for pins and for the usual `>=`, `<`, `!=`,
   `==X.*` ranges.
2. pip-audit (with --pip-audit EXE): runs pip-audit on the requirements file given and reads its JSON
   report. Vulnerabilities it finds fail the audit. When its advisory service cannot be reached (every
   package "could not be audited", or a connection error) it says so and does not fail: the offline
   check is then all that ran.

Exit status: 0 clean, 1 an advisory or vulnerability matched, 2 an input could not be read.

Usage: python scripts/audit_offline.py [--constraints constraints.txt] [--pyproject pyproject.toml]
           [--advisories audit/advisories.toml] [--pip-audit .venv/bin/pip-audit
           --pip-audit-requirements FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]


class AuditInputError(Exception):
    """An input file that cannot be read or understood (exit 2)."""


@dataclass(frozen=True)
class Advisory:
    id: str
    package: str  # canonical name
    affected: tuple[SpecifierSet, ...]
    summary: str

    def matches(self, version: Version) -> bool:
        return any(spec.contains(version, prereleases=True) for spec in self.affected)

    def describe(self) -> str:
        return f"{self.id} ({self.package} {' or '.join(str(s) for s in self.affected)}): {self.summary}"


@dataclass(frozen=True)
class Finding:
    where: str
    requirement: str
    version: Version
    pinned: bool
    advisory: Advisory

    def __str__(self) -> str:
        how = "pinned by" if self.pinned else "allowed by"
        return (f"{self.where}: {self.advisory.package} {self.version} ({how} {self.requirement}) is affected: "
                f"advisory {self.advisory.describe()}")


def load_advisories(path: Path) -> list[Advisory]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AuditInputError(f"{path}: cannot read the advisories: {exc}") from None
    entries = data.get("advisory")
    if not isinstance(entries, list) or not entries:
        raise AuditInputError(f"{path}: no [[advisory]] entries")
    out: list[Advisory] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        where = f"{path}: advisory #{n}"
        if not isinstance(entry, dict):
            raise AuditInputError(f"{where}: not a table")
        missing = [k for k in ("id", "package", "affected", "summary") if not entry.get(k)]
        if missing:
            raise AuditInputError(f"{where}: missing {', '.join(missing)}")
        extra = sorted(set(entry) - {"id", "package", "affected", "summary"})
        if extra:
            raise AuditInputError(f"{where}: unknown field(s) {', '.join(extra)}")
        ident, package, affected, summary = entry["id"], entry["package"], entry["affected"], entry["summary"]
        if not all(isinstance(x, str) for x in (ident, package, summary)):
            raise AuditInputError(f"{where}: id, package and summary must be strings")
        if not isinstance(affected, list) or not all(isinstance(a, str) and a.strip() for a in affected):
            raise AuditInputError(f"{where} ({ident}): affected must be a list of version specifiers")
        if ident in seen:
            raise AuditInputError(f"{where}: id {ident} is used twice")
        seen.add(ident)
        try:
            specs = tuple(SpecifierSet(a) for a in affected)
        except InvalidSpecifier as exc:
            raise AuditInputError(f"{where} ({ident}): {exc}") from None
        out.append(Advisory(ident, canonicalize_name(package), specs, summary.strip()))
    return out


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    cut = line.find(" #")
    return (line[:cut] if cut >= 0 else line).strip()


def read_constraints(path: Path) -> list[tuple[str, Requirement]]:
    """(where, requirement) for every requirement line of a pip constraints/requirements file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditInputError(f"{path}: cannot read: {exc}") from None
    out = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        where = f"{path.name}:{lineno}"
        if line.startswith("-"):
            raise AuditInputError(f"{where}: option line {line!r} is not supported by the offline audit "
                                  "(pin every package as name==version)")
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise AuditInputError(f"{where}: not a requirement: {exc}") from None
        if req.url:
            raise AuditInputError(f"{where}: {req.name} comes from a URL; the audit needs name==version")
        out.append((where, req))
    return out


def read_pyproject(path: Path) -> list[tuple[str, Requirement]]:
    """(where, requirement) for [project] dependencies and every optional-dependencies group."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AuditInputError(f"{path}: cannot read: {exc}") from None
    project = data.get("project") or {}
    groups: list[tuple[str, list[str]]] = [("[project] dependencies", project.get("dependencies") or [])]
    for extra, reqs in (project.get("optional-dependencies") or {}).items():
        groups.append((f"[project.optional-dependencies] {extra}", reqs))
    out = []
    for section, reqs in groups:
        for text in reqs:
            try:
                out.append((f"{path.name} {section}", Requirement(text)))
            except InvalidRequirement as exc:
                raise AuditInputError(f"{path.name} {section}: not a requirement: {text!r}: {exc}") from None
    return out


def _pinned(spec: SpecifierSet) -> Version | None:
    """The one version a specifier set pins (==X or ===X without a wildcard), else None."""
    pins = [s for s in spec if s.operator in ("==", "===") and not s.version.endswith(".*")]
    if len(pins) == 1:
        try:
            return Version(pins[0].version)
        except InvalidVersion:
            return None
    return None


def _probes(*specs: SpecifierSet) -> list[Version]:
    """Versions to try: each version the specifiers name, just above it, the next release, and the first
    releases of wildcard prefixes."""
    found: set[Version] = set()
    for spec_set in specs:
        for spec in spec_set:
            text = spec.version.removesuffix(".*")
            try:
                v = Version(text)
            except InvalidVersion:
                continue
            release = list(v.release)
            bumped = ".".join(map(str, [*release[:-1], release[-1] + 1]))
            first = f"{text}.0" if spec.version.endswith(".*") else text
            for candidate in (first, f"{v.base_version}.1", bumped):
                found.add(Version(candidate))
    return sorted(found)


def check(requirements: list[tuple[str, Requirement]], advisories: list[Advisory]) -> list[Finding]:
    findings = []
    for where, req in requirements:
        name = canonicalize_name(req.name)
        for adv in advisories:
            if adv.package != name:
                continue
            pin = _pinned(req.specifier)
            if pin is not None:
                if adv.matches(pin) and req.specifier.contains(pin, prereleases=True):
                    findings.append(Finding(where, str(req), pin, True, adv))
                continue
            for probe in _probes(req.specifier, *adv.affected):
                if adv.matches(probe) and req.specifier.contains(probe, prereleases=True):
                    findings.append(Finding(where, str(req), probe, False, adv))
                    break
    return findings


def pip_audit(exe: str, requirements: Path) -> int:
    """Run pip-audit; 1 when it reports vulnerabilities, else 0 (also when it cannot reach its service)."""
    found = shutil.which(exe) if os.sep not in exe else (exe if Path(exe).is_file() else None)
    if found is None:
        print(f"pip-audit: not installed ({exe}; it could not be installed, offline?): skipped, "
              "only the offline check ran")
        return 0
    cmd = [found, "--progress-spinner", "off", "--no-deps", "--disable-pip", "-r", str(requirements),
           "-f", "json"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        print("pip-audit: COULD NOT REACH its advisory service (no answer in 900 s): skipped, "
              "only the offline check ran")
        return 0
    try:
        report = json.loads(proc.stdout)
        deps = report["dependencies"]
    except (json.JSONDecodeError, KeyError, TypeError):
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        network = ("connection", "timed out", "timeout", "resolve", "network", "max retries", "unreachable",
                   "name or service", "temporary failure", "ssl")
        if any(word in proc.stderr.lower() for word in network):
            print(f"pip-audit: COULD NOT REACH its advisory service: {tail}: skipped, only the offline "
                  "check ran")
            return 0
        print(f"pip-audit: FAILED (exit {proc.returncode}) without a report: {tail}")
        return 1
    vulns = [(d.get("name"), d.get("version"), v) for d in deps for v in d.get("vulns") or []]
    skipped = [d for d in deps if d.get("skip_reason")]
    for name, version, v in vulns:
        fixes = ", ".join(v.get("fix_versions") or []) or "none"
        aliases = ", ".join(v.get("aliases") or [])
        print(f"pip-audit: VULNERABLE {name}=={version}: {v.get('id')}"
              f"{f' ({aliases})' if aliases else ''}, fixed in: {fixes}")
    if skipped and len(skipped) == len(deps):
        print(f"pip-audit: COULD NOT REACH its advisory service: none of the {len(deps)} packages could be "
              f"audited (e.g. {skipped[0]['skip_reason']!r}); only the offline check ran")
    elif skipped:
        names = ", ".join(str(d.get("name")) for d in skipped)
        print(f"pip-audit: {len(skipped)} of {len(deps)} packages could not be audited ({names}); "
              f"{len(deps) - len(skipped)} audited")
    if vulns:
        print(f"pip-audit: {len(vulns)} known vulnerabilities")
        return 1
    if len(skipped) < len(deps):
        print(f"pip-audit: no known vulnerabilities in the {len(deps) - len(skipped)} audited packages")
    return 0


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--constraints", type=Path, default=REPO / "constraints.txt")
    ap.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml")
    ap.add_argument("--advisories", type=Path, default=REPO / "audit" / "advisories.toml")
    ap.add_argument("--pip-audit", dest="pip_audit", default=None, metavar="EXE",
                    help="also run this pip-audit on --pip-audit-requirements")
    ap.add_argument("--pip-audit-requirements", type=Path, default=None, metavar="FILE",
                    help="requirements for pip-audit (default: --constraints)")
    args = ap.parse_args(argv)
    try:
        advisories = load_advisories(args.advisories)
        pins = read_constraints(args.constraints)
        reqs = read_pyproject(args.pyproject)
    except AuditInputError as exc:
        print(f"audit: cannot audit: {exc}", file=sys.stderr)
        return 2
    findings = check(pins, advisories) + check(reqs, advisories)
    for f in findings:
        print(f"AUDIT FAILED: {f}")
    if findings:
        print(f"offline audit: FAILED, {len(findings)} finding(s) against {_show(args.advisories)}")
    else:
        print(f"offline audit: {len(pins)} pins in {_show(args.constraints)} and {len(reqs)} requirements in "
              f"{_show(args.pyproject)} checked against {len(advisories)} advisories "
              f"({_show(args.advisories)}): none affected")
    status = 1 if findings else 0
    if args.pip_audit:
        status = max(status, pip_audit(args.pip_audit, args.pip_audit_requirements or args.constraints))
    return status


if __name__ == "__main__":
    sys.exit(main())
