"""The analysts' documentation and the README use only portal slugs that exist, and their commands parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from govarchive.cli import build_parser
from govarchive.slugs import registry_slugs

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "docs" / "analysts.md", ROOT / "README.md"]
SLUG_PATTERNS = [
    re.compile(r"--portal[ =]([a-z0-9][a-z0-9_-]*)"),
    re.compile(r"\bportal\s*(?:=|in \()\s*'([a-z0-9][a-z0-9_-]*)'"),
    re.compile(r"[?&]portal=([a-z0-9][a-z0-9_-]*)"),
    re.compile(r"scrapy crawl ([a-z0-9][a-z0-9_-]*)"),
]


def slug_mentions(text: str) -> list[str]:
    found = [m.group(1) for p in SLUG_PATTERNS for m in p.finditer(text)]
    for m in re.finditer(r"govarchive crawl ((?:[a-z0-9][a-z0-9_-]* ?)+)", text):
        found += [s for s in m.group(1).split() if s != "--all"]
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_name_only_registry_slugs(doc: Path) -> None:
    mentions = slug_mentions(doc.read_text(encoding="utf-8"))
    assert mentions, f"{doc.name} mentions no portal at all: the pattern list is out of date"
    unknown = sorted(set(mentions) - set(registry_slugs()))
    assert not unknown, f"{doc.name} names portals missing from the registry: {unknown}"


def test_the_checker_catches_a_made_up_slug() -> None:
    assert slug_mentions("govarchive search x --portal hanoi\nscrapy crawl laichau-dcs") == ["hanoi", "laichau-dcs"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_documented_govarchive_commands_parse(doc: Path) -> None:
    """Every `govarchive ...` line of a shell block is accepted by the real argument parser."""
    parser = build_parser()
    text = doc.read_text(encoding="utf-8")
    candidates = [line.split("  #", 1)[0].strip() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)
                  for line in block.splitlines()]
    candidates += re.findall(r"`((?:\.venv/bin/)?govarchive [^`]+)`", text)  # inline commands
    lines = []
    for command in candidates:
        command = command.split(" && ")[-1].split(" | ")[0]
        if (re.match(r"(\.venv/bin/)?govarchive \w+ \S", command)  # a command with arguments, not a mention
                and not re.search(r"[>…\[]|URL\|ID|QUERY|PATH|\s[A-Z]+(\s|$)", command)):  # placeholders
            lines.append(command)
    assert lines
    for command in lines:
        argv = shlex.split(command)[1:]
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # pragma: no cover - the message is the assertion
            raise AssertionError(f"{doc.name}: `{command}` does not parse") from exc
