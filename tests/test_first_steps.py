"""A newcomer's first commands, run as written, from a fresh clone: `make demo`, then the README's first steps and
the commands the demo itself prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import clean_env

ROOT = Path(__file__).resolve().parent.parent


def first_steps(readme: Path) -> list[str]:
    block = readme.read_text(encoding="utf-8").split("<!-- first-steps:start -->", 1)[1]
    block = block.split("<!-- first-steps:end -->", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines()
            if line.strip() and not line.startswith("```")]


def test_readme_lists_five_first_steps() -> None:
    steps = first_steps(ROOT / "README.md")
    assert len(steps) == 5 and all(s.startswith(".venv/bin/") for s in steps)


@pytest.mark.slow
def test_first_steps_work_from_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.fail("git and make are needed for the newcomer path")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300, env=clean_env())
    # The clone gets its own virtualenv and an editable install of *its* code; the dependencies come from this
    # environment (a .pth line), so the test needs no network and takes seconds instead of a full `make setup`.
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300,
                   env=clean_env())
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "parent_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # a newcomer's shell: the virtualenv not activated
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "-e", str(clone)], check=True, timeout=600,
                   env=clean_env(PATH=path), cwd=clone)
    # the dependencies' console scripts (sqlite-utils, scrapy, datasette...), as pip writes them, for the clone's python
    parent_bin = Path(sys.executable).parent
    for script in parent_bin.iterdir():
        if script.name.startswith(("python", "pip", "activate", "govarchive", "Activate")) or not script.is_file():
            continue
        head, _, rest = script.read_bytes().partition(b"\n")
        if head.startswith(b"#!") and b"python" in head:
            target = venv / "bin" / script.name
            target.write_bytes(b"#!" + str(venv / "bin" / "python").encode() + b"\n" + rest)
            target.chmod(0o755)
    (venv / ".installed").touch()  # the Makefile's stamp: set up, `make demo` goes straight to the crawl
    demo = subprocess.run(["make", "demo"], cwd=clone, env=clean_env(PATH=path), capture_output=True, text=True,
                          timeout=900)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (clone / "data" / "demo.db").exists() and not (clone / "data" / "archive.db").exists()

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", command], cwd=clone, env=clean_env(PATH=path), capture_output=True,
                              text=True, timeout=300)

    outputs = {}
    for command in first_steps(clone / "README.md"):
        done = run(command)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stderr
        outputs[command.split()[1]] = done
    assert re.search(r"articles: \d+ in \d+ portals", outputs["stats"].stdout)
    assert "reading the demo archive data/demo.db" in outputs["stats"].stderr
    assert re.match(r"1–\d+ of \d+ matches, newest first", outputs["search"].stdout)
    assert "Đà Nẵng" in outputs["search"].stdout
    assert (clone / "data" / "demo.csv").read_bytes().startswith(b"\xef\xbb\xbfid,")
    assert "articles" in outputs["tables"].stdout
    # the demo's own "Query it" hint runs as printed too (all but `serve`, which keeps running)
    hints = demo.stdout.split("Query it (these commands read this archive):", 1)[1].strip().splitlines()
    for command in [h.strip() for h in hints if h.strip() and " serve" not in h]:
        done = run(command)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (command, done.stderr[-2000:])
