"""The portal registry: the bundled file loads, and every kind of bad entry fails naming file, entry and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal_spiders.platforms import platforms
from portal_spiders.registry import RegistryError, default_registry, load_registry, portal_for_host

GOOD = """
[[portal]]
slug = "x-portal"
name = "X"
platform = "mas_portal"
start_urls = ["https://x.dcs.vn/Pages/tin.aspx"]
"""


def test_bundled_registry_is_valid() -> None:
    registry = default_registry()
    assert "laichau-dcs" in registry
    seed = registry["laichau-dcs"]
    assert seed.platform == "mas_portal"
    assert seed.host_status == "inferred" and seed.platform_status == "inferred"
    for cfg in registry.values():
        assert cfg.platform in platforms()
        assert cfg.host_status in {"confirmed", "inferred"}


def test_portal_for_host_ignores_www() -> None:
    assert portal_for_host("angiang.dcs.vn").slug == "angiang-dcs"
    assert portal_for_host("www.laichau.dcs.vn").slug == "laichau-dcs"
    assert portal_for_host("example.org") is None


@pytest.mark.parametrize(("patch", "key", "message"), [
    (('platform = "mas_portal"', 'platform = "wordpress"'), "platform", "unknown platform 'wordpress'"),
    (('start_urls = ["https://x.dcs.vn/Pages/tin.aspx"]', ""), "start_urls", "needs start_urls"),
    (('start_urls = ["https://x.dcs.vn/Pages/tin.aspx"]', 'start_urls = ["/relative"]'), "start_urls",
     "not an absolute"),
    (('name = "X"', 'name = "X"\nselectors = {title = ["h1[["]}'), "selectors.title", "bad CSS selector"),
    (('name = "X"', 'name = "X"\nselectors = {headline = ["h1"]}'), "selectors.headline", "unknown field"),
    (('name = "X"', 'name = "X"\nhost_status = "maybe"'), "host_status", "must be one of"),
    (('name = "X"', 'name = "X"\ncolour = "red"'), "colour", "unknown key"),
    (('slug = "x-portal"', 'slug = "X Portal"'), "slug", "invalid slug"),
    (('name = "X"', 'name = "X"\ntls = {ciphers = "DEFAULT", bogus = 1}'), "tls", "keys among"),
])
def test_bad_entry_names_file_entry_and_key(tmp_path: Path, patch: tuple[str, str], key: str, message: str) -> None:
    path = tmp_path / "portals.toml"
    path.write_text(GOOD.replace(*patch), encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    text = str(err.value)
    assert str(path) in text and "portal #1" in text and f"key {key!r}" in text and message in text


def test_duplicate_slug_and_broken_toml(tmp_path: Path) -> None:
    path = tmp_path / "portals.toml"
    path.write_text(GOOD + GOOD, encoding="utf-8")
    with pytest.raises(RegistryError, match=r"portal #2 \('x-portal'\): key 'slug': duplicate"):
        load_registry(path)
    path.write_text("[[portal]\nslug=", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(path)


def test_bad_registry_fails_scrapy_at_start_up(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT, clean_env

    path = tmp_path / "portals.toml"
    path.write_text(GOOD.replace('platform = "mas_portal"', 'platform = "joomla"'), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, capture_output=True, text=True,
                            env=clean_env(GOVARCHIVE_REGISTRY=str(path)), check=False)
    assert result.returncode != 0
    assert "unknown platform 'joomla'" in result.stderr and str(path) in result.stderr
