"""The dependency audit (`make audit`, tools/dependency_audit.py): findings fail unless audit-ignore.toml accepts
them by id for the pinned version with a reason, and an audit that reached no advisory service says so instead
of passing as if it had checked something."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import dependency_audit as audit

ROOT = Path(__file__).resolve().parent.parent

ACCEPTED = """
[[accepted]]
package = "aiohttp"
version = "3.9.5"
reason = "Rasa 3.6 requires aiohttp<3.10; the gateway uses no static index pages."
ids = ["CVE-2024-27306", "GHSA-jwhx-xcg6-8xhj"]
"""

PINS = {"aiohttp": "3.9.5", "six": "1.17.0"}


def _report(vulns_by_package: dict) -> dict:
    return {"dependencies": [{"name": name, "version": PINS[name], "vulns": vulns}
                             for name, vulns in vulns_by_package.items()], "fixes": []}


def _vuln(id_: str, *aliases: str) -> dict:
    return {"id": id_, "fix_versions": ["3.10.2"], "aliases": list(aliases), "description": "..."}


@pytest.fixture
def accepted_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit-ignore.toml"
    path.write_text(ACCEPTED, encoding="utf-8")
    return path


def test_a_finding_listed_under_any_of_its_names_is_accepted_and_an_unlisted_one_is_not(accepted_file):
    run = audit.parse_report(_report({
        "aiohttp": [_vuln("PYSEC-2024-999", "CVE-2024-27306"), _vuln("GHSA-jwhx-xcg6-8xhj"),
                    _vuln("GHSA-new0-0000-0000", "CVE-2026-0001")],
        "six": []}), PINS, "pypi")
    verdict = audit.judge(run.findings, audit.load_acceptances(accepted_file), PINS, service_reached=True)
    assert run.audited == 2
    assert sorted(f.id for f, _ in verdict.accepted) == ["GHSA-jwhx-xcg6-8xhj", "PYSEC-2024-999"]
    assert [f.id for f in verdict.unaccepted] == ["GHSA-new0-0000-0000"]
    assert verdict.stale == []


def test_an_acceptance_holds_only_for_the_version_it_names(accepted_file):
    pins = {"aiohttp": "3.9.6"}
    run = audit.parse_report({"dependencies": [{"name": "aiohttp", "version": "3.9.6",
                                                "vulns": [_vuln("CVE-2024-27306")]}]}, pins, "pypi")
    verdict = audit.judge(run.findings, audit.load_acceptances(accepted_file), pins, service_reached=True)
    assert [f.id for f in verdict.unaccepted] == ["CVE-2024-27306"]
    assert len(verdict.stale) == 1 and "now pins 3.9.6" in verdict.stale[0]


def test_an_accepted_advisory_without_a_reason_is_refused(tmp_path: Path):
    path = tmp_path / "audit-ignore.toml"
    path.write_text('[[accepted]]\npackage = "aiohttp"\nversion = "3.9.5"\nids = ["CVE-2024-27306"]\n',
                    encoding="utf-8")
    with pytest.raises(audit.AuditConfigError, match="lacks reason"):
        audit.load_acceptances(path)


def test_no_reachable_service_is_a_loud_warning_and_a_failure_when_required(monkeypatch, tmp_path, capsys,
                                                                             accepted_file):
    lock = tmp_path / "requirements.txt"
    lock.write_text("aiohttp==3.9.5\nsix==1.17.0\n", encoding="utf-8")
    not_found = [("aiohttp", "Dependency not found on PyPI and could not be audited: aiohttp (3.9.5)"),
                 ("six", "Dependency not found on PyPI and could not be audited: six (1.17.0)")]
    runs = {"pypi": audit.ServiceRun("pypi", skipped=not_found),
            "osv": audit.ServiceRun("osv", error="ConnectionError: Failed to resolve 'api.osv.dev'")}
    monkeypatch.setattr(audit, "run_pip_audit", lambda requirements, pins, service: runs[service])
    monkeypatch.setattr(audit, "probe", lambda url: "HTTP 404")
    args = ["--requirements", str(lock), "--accepted", str(accepted_file)]

    monkeypatch.delenv("AUDIT_REQUIRE_SERVICE", raising=False)
    assert audit.main(args) == audit.EXIT_OK
    out = capsys.readouterr().out
    assert "DEPENDENCY AUDIT NOT DONE" in out and "NOTHING in requirements.txt" in out
    assert "https://pypi.org/pypi/aiohttp/3.9.5/json answers HTTP 404" in out
    assert "Failed to resolve 'api.osv.dev'" in out
    assert "packages audited" not in out

    monkeypatch.setenv("AUDIT_REQUIRE_SERVICE", "1")
    assert audit.main(args) == audit.EXIT_NOT_AUDITED


def test_a_reachable_service_with_an_unaccepted_finding_fails_and_says_what_to_do(monkeypatch, tmp_path, capsys,
                                                                                  accepted_file):
    lock = tmp_path / "requirements.txt"
    lock.write_text("aiohttp==3.9.5\nsix==1.17.0\n", encoding="utf-8")
    reached = audit.parse_report(_report({"aiohttp": [_vuln("CVE-2024-27306"), _vuln("GHSA-new0-0000-0000")],
                                          "six": []}), PINS, "osv")
    monkeypatch.setattr(audit, "run_pip_audit", lambda requirements, pins, service: (
        audit.ServiceRun("pypi", error="HTTP 503") if service == "pypi" else reached))
    args = ["--requirements", str(lock), "--accepted", str(accepted_file)]
    assert audit.main(args) == audit.EXIT_FINDINGS
    out = capsys.readouterr().out
    assert "by OSV" in out and "2 packages audited" in out
    assert "accepted  aiohttp 3.9.5  CVE-2024-27306" in out
    assert "FAILED: 1 advisories" in out and "GHSA-new0-0000-0000" in out
    assert "audit-ignore.toml" in out

    reached.findings = [f for f in reached.findings if f.id == "CVE-2024-27306"]
    assert audit.main(args) == audit.EXIT_OK


def test_the_project_lock_pins_every_package_and_every_acceptance_names_a_pinned_version():
    pins = audit.lock_pins(ROOT / "requirements.txt")
    assert pins["aiohttp"] and pins["rasa"] == "3.6.21"
    acceptances = audit.load_acceptances(ROOT / "audit-ignore.toml")
    assert acceptances, "audit-ignore.toml lists the advisories that no allowed version fixes"
    for acceptance in acceptances:
        assert pins.get(acceptance.package) == acceptance.version, (
            f"audit-ignore.toml accepts {acceptance.package} {acceptance.version} but requirements.txt pins "
            f"{pins.get(acceptance.package)}: review its advisories and move or remove the entry")
        assert len(acceptance.reason) > 40, f"{acceptance.package}: the reason says why and how exposed we are"


AUDIT_PYTHON = ROOT / ".venv-audit" / "bin" / "python"


async def test_make_audit_runs_pip_audit_and_fails_on_an_advisory_that_is_not_accepted(tmp_path):
    """The real pip-audit (from .venv-audit) against a local server that answers as OSV does: an advisory in
    audit-ignore.toml passes, a new one fails the audit with its id and fixed version."""
    if not AUDIT_PYTHON.exists():
        pytest.skip("no .venv-audit: `make test` and `make audit` create it from requirements-audit.txt")
    import asyncio
    import os

    from aiohttp import web
    from aiohttp.test_utils import TestServer

    advisories = {"aiohttp": [("GHSA-jwhx-xcg6-8xhj", "CVE-2024-42367", "3.10.2")]}

    async def query(request: web.Request) -> web.Response:
        asked = await request.json()
        vulns = [{"id": id_, "aliases": [alias], "summary": "test advisory",
                  "affected": [{"package": {"name": asked["package"]["name"], "ecosystem": "PyPI"},
                                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}
                 for id_, alias, fixed in advisories.get(asked["package"]["name"], [])]
        return web.json_response({"vulns": vulns} if vulns else {})

    app = web.Application()
    app.router.add_post("/v1/query", query)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    lock = tmp_path / "requirements.txt"
    lock.write_text("aiohttp==3.9.5\nsix==1.17.0\n", encoding="utf-8")
    accepted = tmp_path / "audit-ignore.toml"
    accepted.write_text(ACCEPTED, encoding="utf-8")
    env = {**os.environ, "AUDIT_SERVICES": "osv", "AUDIT_OSV_URL": str(server.make_url("/v1/query")),
           "PYTHONPATH": str(ROOT)}
    env.pop("AUDIT_REQUIRE_SERVICE", None)

    async def run_audit() -> tuple:
        process = await asyncio.create_subprocess_exec(
            str(AUDIT_PYTHON), "-m", "tools.dependency_audit", "--requirements", str(lock),
            "--accepted", str(accepted), env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        return process.returncode, out.decode()

    try:
        code, out = await run_audit()
        assert code == 0, out
        assert "2 packages audited, 1 advisories found, 1 of them accepted" in out
        # pip-audit names the advisory by one of its names (the CVE here); either one is accepted
        assert "accepted  aiohttp 3.9.5  CVE-2024-42367  (fixed in 3.10.2)" in out

        advisories["six"] = [("GHSA-test-new0-0001", "CVE-2026-0001", "1.18.0")]
        code, out = await run_audit()
        assert code == 1, out
        assert "FAILED: 1 advisories" in out
        assert "six 1.17.0" in out and "CVE-2026-0001" in out and "fixed in 1.18.0" in out
    finally:
        await server.close()
