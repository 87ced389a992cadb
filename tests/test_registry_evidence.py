"""The registry is grounded in evidence: statuses follow from it, and every platform reads every real URL shape.

The URLs below are real ones, seen in public material (the registry's ``evidence`` lists cite where); a platform
whose patterns miss one of them fails here with the URL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from portal_spiders.evidence import assess, misread_urls
from portal_spiders.platforms import get_platform
from portal_spiders.registry import RegistryError, default_registry, load_registry

REGISTRY = default_registry()
SLUGS = sorted(REGISTRY)


@pytest.mark.parametrize("slug", SLUGS)
def test_statuses_follow_from_evidence(slug: str) -> None:
    cfg = REGISTRY[slug]
    assert cfg.evidence, f"{slug}: no evidence listed"
    verdict = assess(cfg)
    assert cfg.host_status == verdict.host_status, (slug, verdict.host_reason)
    assert cfg.platform_status == verdict.platform_status, (slug, verdict.platform_reason)


@pytest.mark.parametrize("slug", SLUGS)
def test_platform_reads_every_evidence_url(slug: str) -> None:
    assert misread_urls(REGISTRY[slug]) == []


def test_a_domain_list_confirms_nothing() -> None:
    only_listed = [c for c in REGISTRY.values() if {e["kind"] for e in c.evidence} <= {"domain-list"}]
    assert len(only_listed) >= 15
    assert all(c.host_status == "inferred" and c.platform_status == "inferred" for c in only_listed)
    assert all(c.platform_status == "inferred" for c in REGISTRY.values() if c.platform == "generic")


def test_corrections_from_the_evidence_audit() -> None:
    for slug in ("hochiminhcity-gov", "danang-gov", "bacninh-gov", "lienchieu-danang", "atgt-bacgiang"):
        assert REGISTRY[slug].platform == "liferay", slug
    assert REGISTRY["bacninh-gov"].tls == REGISTRY["bacgiang-gov"].tls | {
        "reason": REGISTRY["bacninh-gov"].tls["reason"]}
    assert REGISTRY["bacninh-gov"].tls["ciphers"] == "DEFAULT@SECLEVEL=1"
    assert REGISTRY["dongnai-gov"].platform == "nukeviet"
    hanoi = REGISTRY["hanoi-gov"]
    assert hanoi.platform == "vccorp"
    assert {f["url"] for f in hanoi.listing_forms} == {"https://hanoi.gov.vn/api/NewsZone/NewsZone"}
    assert not any("Default.aspx?sname=" in u for u in REGISTRY["namdinh-gov"].start_urls)
    for slug in ("xaydungchinhsach-chinhphu", "congbao-chinhphu", "baochinhphu-en", "baochinhphu-cn", "english-mst",
                 "dbndthanhhoa-gov", "syt-gialai", "sxd-dongnai", "lienchieu-danang", "atgt-bacgiang"):
        assert slug in REGISTRY, slug
    assert "https://xaydungchinhsach.chinhphu.vn/rss/home.rss" in REGISTRY["xaydungchinhsach-chinhphu"].feeds
    assert "https://congbao.chinhphu.vn/cac-van-ban-moi-ban-hanh.rss" in REGISTRY["congbao-chinhphu"].feeds
    assert "https://moh.gov.vn/rss/-/asset_publisher/7ng11fEWgASC/rss" in REGISTRY["moh-gov"].feeds
    assert {"https://baochinhphu.vn/rss/home.rss", "https://baochinhphu.vn/rss/phap-luat.rss"} <= set(
        REGISTRY["baochinhphu"].feeds)
    assert REGISTRY["vbpl"].platform == "document"


# Real URL shapes the issue lists (and the evidence holds), per platform and kind.
REAL_SHAPES = [
    ("vccorp", "https://baochinhphu.vn/thu-tuong-chu-tri-phien-hop-102260905122709839.htm", "article"),
    ("vccorp", "https://baochinhphu.vn/cao-bang-vung-buoc-tren-con-duong-10259924.htm", "article"),
    ("vccorp", "https://vpcp.chinhphu.vn/phat-huy-vai-tro-cua-thanh-nien-trong-chuyen-doi-so-115241006224334542.htm",
     "article"),
    ("vccorp", "https://xaydungchinhsach.chinhphu.vn/thu-tuong-phat-dong-thi-dua-119250518111151187.htm", "article"),
    ("vccorp", "https://covid19.gov.vn/big-story/cap-nhat-dien-bien-dich-covid-19-171210901111435028.htm", "article"),
    ("vccorp", "https://english.mst.gov.vn/vietnamese-lose-vnd20-million-197240112095533512.htm", "article"),
    ("vccorp", "https://english.mst.gov.vn/vietnam-announces-first-digital-signature-without-usb-token-197140679.htm",
     "article"),
    ("vccorp", "https://mst.gov.vn/some-news-197148521.htm", "article"),
    ("vccorp", "https://hanoi.gov.vn/tin-tuc-su-kien-noi-bat/ha-noi-hop-bao-4250410182811455.htm", "article"),
    ("vccorp", "https://hanoi.gov.vn/tin-tuc-su-kien-noi-bat/ha-noi-hop-bao-42862896.htm", "article"),
    ("vccorp", "https://en.baochinhphu.vn/viet-nam-invites-japan-to-attend-3rd-defense-expo-11126060215325338.htm",
     "article"),
    ("vccorp", "https://baochinhphu.vn/timelinelist/102301/2.htm", "listing"),
    ("vccorp", "https://en.baochinhphu.vn/timelinetags/defense/2.htm", "listing"),
    ("vccorp", "https://en.baochinhphu.vn/defense.html", "listing"),
    ("vccorp", "https://mst.gov.vn/tin-tuc-su-kien/xem-theo-ngay-16-06-2025.htm", "listing"),
    ("vccorp", "https://hanoi.gov.vn/tin-tuc-su-kien-noi-bat", "listing"),
    ("vccorp", "https://baochinhphu.vn/rss/home.rss", "feed"),
    ("tandan", "https://btctdbp.svhttdl.dienbien.gov.vn/portal/pages/2015/Le-ky-niem.aspx", "article"),
    ("tandan", "https://mpi.gov.vn/en/Pages/2024-10-11/Viet-Nam-and-Japan-abc12.aspx", "article"),
    ("tandan", "https://xasonlinh.hatinh.gov.vn/portal/pages/2023-01-30/Ung-dung-Cong-nghe-thong-tin-v-468686.aspx",
     "article"),
    ("tandan", "https://dbndthanhhoa.gov.vn/portal/KenhTin/Hoi-dong-nhan-dan-tinh.aspx", "listing"),
    ("tandan", "https://mpi.gov.vn/en/pages/News-133.aspx", "listing"),
    ("liferay", "https://hochiminhcity.gov.vn/web/hcm/-/trien-khai-thi-hanh-luat", "article"),
    ("liferay", "https://hochiminhcity.gov.vn/vi/web/hcm/w/trien-khai-thi-hanh-luat", "article"),
    ("liferay", "https://danang.gov.vn/web/dng/-/tin-moi", "article"),
    ("liferay", "https://bacninh.gov.vn/-/details/37632/hoi-nghi-abc-123456", "article"),
    ("liferay", "https://moh.gov.vn/-/6848045-2", "article"),
    ("liferay", "https://moh.gov.vn/rss/-/asset_publisher/7ng11fEWgASC/rss", "feed"),
    ("upload_portal", "https://luongbang.hungyen.gov.vn/hoi-dap-ve-luat-dat-dai-nam-2024-c2242.html", "article"),
    ("upload_portal", "https://luongbang.hungyen.gov.vn/noi-dung-truyen-thong-ve-quyen-con-nguoi-o-viet-nam-c2246.html",
     "article"),
    ("upload_portal",
     "https://luongbang.hungyen.gov.vn/chuyen-muc-tuyen-tryen-pho-bien-giao-duc-phap-luat-c222-1.html", "listing"),
    ("nukeviet", "https://binhphuoc.gov.vn/vi/news/tin-tuc-su-kien-421/abc-xyz-37146.html", "article"),
    ("nukeviet", "https://dongnai.gov.vn/vi/news/tin-hoat-dong-linh-vuc-nganh/", "listing"),
    ("nukeviet", "https://xuanloc.dongnai.gov.vn/vi/news/rss/van-hoa-xa-hoi/", "feed"),
    ("document", "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=187276", "article"),
    ("document", "https://vbpl.vn/TW/Pages/vbpq-luocdo.aspx?ItemID=139585", "article"),
    ("document", "https://vbpl.vn/van-ban/chi-tiet/luat-thue-thu-nhap-ca-nhan-so-109-2025-qh15--187045", "article"),
]


@pytest.mark.parametrize(("platform", "url", "kind"), REAL_SHAPES)
def test_real_url_shapes(platform: str, url: str, kind: str) -> None:
    assert get_platform(platform).classify_url(url) == kind


def test_bad_evidence_is_named_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "portals.toml"
    base = ('[[portal]]\nslug = "x"\nname = "X"\nplatform = "generic"\nstart_urls = ["https://x.gov.vn/"]\n')
    for evidence, key in [
        ('evidence = [{ kind = "rumour", source = "a friend" }]', "evidence[1].kind"),
        ('evidence = [{ kind = "article", source = "somewhere" }]', "evidence[1].url"),
        ('evidence = [{ kind = "article", url = "https://x.gov.vn/a-1.html" }]', "evidence[1].source"),
        ('evidence = [{ kind = "markup", source = "a page" }]', "evidence[1].html"),
        ('evidence = "seen it"', "evidence"),
    ]:
        path.write_text(base + evidence + "\n", encoding="utf-8")
        with pytest.raises(RegistryError) as err:
            load_registry(path)
        assert f"key {key!r}" in str(err.value) and str(path) in str(err.value)
