"""The suite itself: tests run in a clean environment, whatever the developer's shell exports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import ROOT, clean_env

TESTS = Path(__file__).resolve().parent
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}
# What a developer may well have exported; none of it may reach a test.
LEAKY = {"GOVARCHIVE_DB": "/home/dev/real.db", "GOVARCHIVE_REPLICA_URL": "http://127.0.0.1:9",
         "GOVARCHIVE_LOG_LEVEL": "ERROR", "GOVARCHIVE_CONTACT": "dev@example.org",
         "SCRAPY_SETTINGS_MODULE": "someone.elses.settings", "https_proxy": "http://127.0.0.1:9"}


def _subprocess_calls(path: Path) -> list[tuple[int, ast.Call]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(node.lineno, node) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
            and node.func.attr in SUBPROCESS_CALLS]


def test_every_subprocess_in_the_tests_gets_the_clean_environment() -> None:
    offenders, seen = [], 0
    for path in sorted(TESTS.glob("*.py")):
        for line, call in _subprocess_calls(path):
            seen += 1
            env = next((kw.value for kw in call.keywords if kw.arg == "env"), None)
            if env is None or "clean_env" not in ast.unparse(env) or "os.environ" in ast.unparse(env):
                offenders.append(f"{path.name}:{line}")
    assert seen > 10, "the scan found no subprocess calls: is it still looking at the right thing?"
    assert not offenders, f"pass env=clean_env(...) (tests/conftest.py) to: {', '.join(offenders)}"


def test_clean_env_keeps_the_whitelist_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LEAKY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = clean_env(GOVARCHIVE_REGISTRY="/tmp/portals.toml")
    assert not set(LEAKY) & set(env)
    assert env["PATH"] == "/usr/bin:/bin" and env["GOVARCHIVE_REGISTRY"] == "/tmp/portals.toml"
    assert set(env) <= conftest.INHERITED_ENV | {"GOVARCHIVE_REGISTRY"} | {
        k for k in env if k.startswith(conftest.INHERITED_ENV_PREFIXES)}


def test_a_subprocess_sees_the_project_defaults_despite_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LEAKY.items():
        monkeypatch.setenv(name, value)
    code = ("import portal_spiders.settings as s; "
            "print(s.ARCHIVE_DB, repr(s.REPLICA_URL), s.LOG_LEVEL, s.GOVARCHIVE_CONTACT)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["data/archive.db", "''", "INFO", "https://github.com/govarchive/govarchive"]


def test_pytest_process_drops_the_developers_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LEAKY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    conftest.pytest_configure(None)  # type: ignore[arg-type]  # what pytest ran before collecting
    import os

    assert not (set(LEAKY) | {"HTTPS_PROXY"}) & set(os.environ)


def test_ci_runs_lint_and_tests_with_ci_set() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines()]
    assert "export CI=1" in lines
    assert lines.index("make lint") < lines.index("make test")
    assert "missing+=(chromium)" in script and "missing+=(systemd)" in script  # systemd-analyze's package


def test_a_missing_tool_skips_locally_but_fails_in_ci(tmp_path: Path) -> None:
    """The systemd-unit check needs systemd-analyze: a skip on a laptop, a failure where CI is set."""
    test = "tests/test_operations.py::test_systemd_units_are_valid_and_run_the_real_cli"
    outcomes = {}
    for ci in (False, True):
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", test],
                                cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                                # an empty directory as PATH: no systemd-analyze
                                env=clean_env(PATH=str(tmp_path), **({"CI": "1"} if ci else {})))
        outcomes[ci] = (result.returncode, result.stdout)
    assert outcomes[False][0] == 0 and "1 skipped" in outcomes[False][1], outcomes[False][1][-2000:]
    assert outcomes[True][0] == 1 and "systemd-analyze is required in CI" in outcomes[True][1], outcomes[True][1]
