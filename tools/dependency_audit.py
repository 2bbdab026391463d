"""The dependency audit of the lock (`make audit`, which `make lint` runs): pip-audit checks every package pinned
in requirements.txt against an advisory service, and a finding fails the audit unless audit-ignore.toml accepts
it, by advisory id, for the pinned version, with a reason (docs/dependency-audit.md).

When no advisory service answers, nothing was audited: the audit says so in a banner naming each service and
what went wrong, and passes with that warning (AUDIT_REQUIRE_SERVICE=1 makes it fail instead), because a
machine that cannot reach them learns nothing new by failing.

    .venv-audit/bin/python -m tools.dependency_audit [--requirements requirements.txt] [--accepted audit-ignore.toml]

AUDIT_SERVICES (default "pypi,osv") chooses the services tried, in order; AUDIT_OSV_URL points pip-audit at an
OSV mirror (an address of its /v1/query) for a network that reaches one but not api.osv.dev.

It runs in .venv-audit (requirements-audit.txt), not in .venv: pip-audit needs packaging>=21, Rasa 3.6 pins <21.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

# tried in this order; the first one that audits at least one package decides
SERVICES: Tuple[Tuple[str, str], ...] = (
    ("pypi", "the PyPI JSON API (https://pypi.org/pypi/<name>/<version>/json)"),
    ("osv", "OSV (https://api.osv.dev/v1/query)"),
)
PIP_AUDIT_TIMEOUT_S = 900

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_NOT_AUDITED = 2
EXIT_BAD_CONFIG = 3


class AuditConfigError(Exception):
    """The accepted-advisories file or the lock cannot be read; the message names the entry to fix."""


def canonical(name: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Acceptance:
    """Advisories accepted for one pinned version of one package, and why."""

    package: str
    version: str
    reason: str
    ids: FrozenSet[str]


@dataclass(frozen=True)
class Finding:
    """One advisory that a service reported for a pinned package."""

    package: str
    version: str
    id: str
    aliases: Tuple[str, ...] = ()
    fix_versions: Tuple[str, ...] = ()

    def names(self) -> FrozenSet[str]:
        """The advisory's id and its aliases (CVE, GHSA, PYSEC), upper-cased."""
        return frozenset(n.upper() for n in (self.id, *self.aliases))


@dataclass
class ServiceRun:
    """What one advisory service said about the lock."""

    service: str
    findings: List[Finding] = field(default_factory=list)
    audited: int = 0
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def reachable(self) -> bool:
        """The service audited at least one package (a 404 for each package is pip-audit's 'not found')."""
        return self.error is None and self.audited > 0


@dataclass
class Verdict:
    """The findings split by whether audit-ignore.toml accepts them, and the entries that no longer apply."""

    unaccepted: List[Finding]
    accepted: List[Tuple[Finding, Acceptance]]
    stale: List[str]


def lock_pins(path: Path) -> Dict[str, str]:
    """Package (canonical name) -> pinned version, from a `name==version` lock."""
    pins: Dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise AuditConfigError(f"{path}:{number}: '{line}' is not pinned as name==version")
        pins[canonical(name.split("[", 1)[0].strip())] = version.strip()
    return pins


def load_acceptances(path: Path) -> List[Acceptance]:
    """The [[accepted]] entries of audit-ignore.toml; each needs package, version, a reason and ids."""
    import tomli

    try:
        data = tomli.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except tomli.TOMLDecodeError as err:
        raise AuditConfigError(f"{path}: not valid TOML ({err})") from err
    acceptances = []
    for index, entry in enumerate(data.get("accepted", []), 1):
        where = f"{path}: [[accepted]] entry {index} ({entry.get('package', 'no package')})"
        missing = [key for key in ("package", "version", "reason", "ids") if not entry.get(key)]
        if missing:
            raise AuditConfigError(f"{where} lacks {', '.join(missing)}: every accepted advisory needs a reason")
        if not isinstance(entry["ids"], list) or not all(isinstance(i, str) for i in entry["ids"]):
            raise AuditConfigError(f"{where}: ids must be a list of advisory ids (CVE-, GHSA-, PYSEC-)")
        acceptances.append(Acceptance(canonical(entry["package"]), str(entry["version"]),
                                      " ".join(str(entry["reason"]).split()),
                                      frozenset(i.strip().upper() for i in entry["ids"])))
    return acceptances


def parse_report(report: dict, pins: Dict[str, str], service: str) -> ServiceRun:
    """pip-audit's JSON report as findings, the number of packages audited and those it skipped (and why)."""
    run = ServiceRun(service)
    for dep in report.get("dependencies", []):
        name = canonical(dep.get("name", ""))
        if dep.get("skip_reason"):
            run.skipped.append((name, dep["skip_reason"]))
            continue
        run.audited += 1
        version = dep.get("version") or pins.get(name, "")
        for vuln in dep.get("vulns", []):
            run.findings.append(Finding(name, version, vuln["id"], tuple(vuln.get("aliases", ())),
                                        tuple(vuln.get("fix_versions", ()))))
    return run


def judge(findings: Sequence[Finding], acceptances: Sequence[Acceptance], pins: Dict[str, str],
          service_reached: bool) -> Verdict:
    """Which findings are accepted (same package, the version pinned, one of the advisory's names listed)."""
    unaccepted: List[Finding] = []
    accepted: List[Tuple[Finding, Acceptance]] = []
    used: Dict[Acceptance, set] = {a: set() for a in acceptances}
    for finding in findings:
        match = next((a for a in acceptances if a.package == finding.package and a.version == finding.version
                      and a.ids & finding.names()), None)
        if match is None:
            unaccepted.append(finding)
        else:
            accepted.append((finding, match))
            used[match] |= match.ids & finding.names()
    stale = []
    for acceptance in acceptances:
        pinned = pins.get(acceptance.package)
        if pinned is None:
            stale.append(f"{acceptance.package} {acceptance.version}: no longer in the lock; remove the entry")
        elif pinned != acceptance.version:
            stale.append(f"{acceptance.package} {acceptance.version}: the lock now pins {pinned}; review the "
                         f"advisories for {pinned} and move or remove the entry")
        elif service_reached:
            unused = sorted(acceptance.ids - used[acceptance])
            # an advisory may be listed under another of its names; only say so when none of its names matched
            if unused and not used[acceptance]:
                stale.append(f"{acceptance.package} {acceptance.version}: no accepted id was reported; remove "
                             f"the entry if the service no longer lists them")
    return Verdict(unaccepted, accepted, stale)


def run_pip_audit(requirements: Path, pins: Dict[str, str], service: str) -> ServiceRun:
    """pip-audit on the lock alone (--no-deps: the lock is complete; --disable-pip: nothing is installed)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip",
                   "--progress-spinner", "off", "-s", service, "-f", "json", "-o", str(out)]
        if service == "osv" and os.environ.get("AUDIT_OSV_URL"):
            command += ["--osv-url", os.environ["AUDIT_OSV_URL"]]
        try:
            # the project's folder off the path: none of its packages may shadow one of pip-audit's
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_AUDIT_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            return ServiceRun(service, error=f"no answer within {PIP_AUDIT_TIMEOUT_S} s")
        if not out.exists():
            return ServiceRun(service, error=_last_error_line(done.stderr) or f"pip-audit exited {done.returncode}")
        return parse_report(json.loads(out.read_text(encoding="utf-8")), pins, service)


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or [""])[-1][:300]


def probe(url: str) -> str:
    """What one GET of `url` answers: 'HTTP <status>' or the connection error."""
    import requests

    try:
        return f"HTTP {requests.get(url, timeout=15).status_code}"
    except requests.RequestException as err:
        return f"{type(err).__name__}: {err}"[:200]


def describe_unreached(run: ServiceRun, pins: Dict[str, str]) -> str:
    """Why a service audited nothing, in a line a person can act on."""
    if run.error:
        return run.error
    if run.skipped and all("not found" in reason for _, reason in run.skipped):
        name, _ = run.skipped[0]
        url = f"https://pypi.org/pypi/{name}/{pins.get(name, '')}/json"
        return (f"answered 'not found' for all {len(run.skipped)} packages; {url} answers {probe(url)} "
                f"(a package index proxy that serves only /simple has no JSON API)")
    return f"audited no package ({len(run.skipped)} skipped)"


def service_label(service: str) -> str:
    """The service's name and address as the audit used it."""
    if service == "osv" and os.environ.get("AUDIT_OSV_URL"):
        return f"OSV at {os.environ['AUDIT_OSV_URL']} (AUDIT_OSV_URL)"
    return dict(SERVICES).get(service, service)


def not_audited_banner(runs: Sequence[ServiceRun], pins: Dict[str, str]) -> str:
    """The warning printed when no service could be reached: nobody can miss it in make's output."""
    bar = "!" * 100
    lines = [bar, "!! DEPENDENCY AUDIT NOT DONE: no advisory service could be reached, so NOTHING in requirements.txt",
             "!! was checked against advisories on this run. Services tried:"]
    for run in runs:
        lines.append(f"!!   - {service_label(run.service)}: {describe_unreached(run, pins)}")
    lines += ["!! The advisories known at the last review, and why each is accepted, are in docs/dependency-audit.md.",
              "!! Run `make audit` where one of these services is reachable; AUDIT_REQUIRE_SERVICE=1 makes this a "
              "failure.", bar]
    return "\n".join(lines)


def report(run: ServiceRun, verdict: Verdict, out=None) -> None:
    """Prints the outcome of an audit that a service answered."""
    out = out or sys.stdout
    print(f"Dependency audit of the lock by {service_label(run.service)}: {run.audited} packages audited, "
          f"{len(run.findings)} advisories found, {len(verdict.accepted)} of them accepted in audit-ignore.toml.",
          file=out)
    for finding, acceptance in verdict.accepted:
        print(f"  accepted  {finding.package} {finding.version}  {finding.id}  (fixed in "
              f"{', '.join(finding.fix_versions) or 'no release'}): {acceptance.reason[:140]}", file=out)
    if run.skipped:
        print(f"WARNING: {len(run.skipped)} packages were not audited:", file=out)
        for name, reason in run.skipped:
            print(f"  {name}: {reason}", file=out)
    for line in verdict.stale:
        print(f"WARNING: audit-ignore.toml: {line}", file=out)
    if verdict.unaccepted:
        print(f"FAILED: {len(verdict.unaccepted)} advisories are neither fixed nor accepted:", file=out)
        for f in verdict.unaccepted:
            aliases = f" ({', '.join(f.aliases)})" if f.aliases else ""
            print(f"  {f.package} {f.version}  {f.id}{aliases}  fixed in {', '.join(f.fix_versions) or 'no release'}",
                  file=out)
        print("Upgrade the package in requirements.txt to a fixed version that every constraint allows, or, when "
              "none does, add the advisory to audit-ignore.toml with the reason and the product's exposure, and "
              "its row to docs/dependency-audit.md.", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--requirements", type=Path, default=Path("requirements.txt"))
    parser.add_argument("--accepted", type=Path, default=Path("audit-ignore.toml"))
    args = parser.parse_args(argv)
    require_service = os.environ.get("AUDIT_REQUIRE_SERVICE", "") not in ("", "0")
    try:
        pins = lock_pins(args.requirements)
        acceptances = load_acceptances(args.accepted)
    except AuditConfigError as err:
        print(f"dependency audit: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    known = dict(SERVICES)
    chosen = [name.strip() for name in os.environ.get("AUDIT_SERVICES", ",".join(known)).split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        print(f"dependency audit: AUDIT_SERVICES names {', '.join(unknown) or 'nothing'}; use some of "
              f"{', '.join(known)}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    runs = []
    for service in chosen:
        run = run_pip_audit(args.requirements, pins, service)
        runs.append(run)
        if run.reachable:
            verdict = judge(run.findings, acceptances, pins, service_reached=True)
            report(run, verdict)
            return EXIT_FINDINGS if verdict.unaccepted else EXIT_OK
    print(not_audited_banner(runs, pins))
    for line in judge([], acceptances, pins, service_reached=False).stale:
        print(f"WARNING: audit-ignore.toml: {line}")
    return EXIT_NOT_AUDITED if require_service else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
