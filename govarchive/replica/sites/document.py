"""Replica of vbpl.vn, the national legal-documents database (the ``document`` platform).

Every replica article becomes a decision ("Quyết định <id>/<year>/QĐ-UBND") whose summary is the article's title,
issued on its publication day and signed by its author. It is served, like vbpl.vn, as several views of one
SharePoint list item: ``/TW/Pages/vbpq-toanvan.aspx?ItemID=N`` (the full text, with ``<title>Trung ương</title>``,
the header tables, the status box and the files block whose links call ``downloadfile(name, path)``) and
``vbpq-thuoctinh.aspx`` (the properties table: ``td.title`` summary, ``td.label`` cells, the issuer / title / signer
row and the field of law, which only this view shows), and a sitemap of the full-text URLs. Search results come as the HTML fragment
``/VBQPPL_UserControls/Publishing_22/TimKiem/p_KetQuaTimKiemVanBan.aspx?…&Page=N`` listing every view of a document
(full text, properties, outline), so a crawl that does not merge views would store the same document several times.
"""

from __future__ import annotations

from dataclasses import replace

from govarchive.replica.content import Attachment, ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc

SEARCH = "/VBQPPL_UserControls/Publishing_22/TimKiem/p_KetQuaTimKiemVanBan.aspx"
ISSUER = "Ủy ban nhân dân tỉnh Lai Châu"


class DocumentSite(ReplicaSite):
    """vbpl.vn-style document database."""

    platform = "document"
    per_page = 5

    @staticmethod
    def localize(article: ReplicaArticle) -> ReplicaArticle:
        """Attachments live in the list item's attachments folder (names keep their spaces)."""
        moved = [Attachment(att.name, f"/TW/Lists/vbpq/Attachments/{article.id}/{att.path.rsplit('/', 1)[-1]}")
                 for att in article.attachments]
        return replace(article, attachments=moved)

    @staticmethod
    def number(a: ReplicaArticle) -> str:
        """The document number of an article."""
        return f"{a.id}/{a.published.year}/QĐ-UBND"

    def article_path(self, article: ReplicaArticle) -> str:
        return f"/TW/Pages/vbpq-toanvan.aspx?ItemID={article.id}"

    def expected(self, article: ReplicaArticle) -> dict[str, object]:
        """The record: type, number and summary as title; the issue date; the signer; every file."""
        return {
            "title": f"Quyết định {self.number(article)}: {article.title}",
            "published": article.published.replace(hour=0, minute=0).isoformat(),
            "author": article.author,
            "tags": [],
            "attachments": [{"url": self.attachment_url(a.path), "name": a.name.rsplit("/", 1)[-1]}
                            for a in article.attachments],
            "summary": article.title,
            "paragraphs": article.paragraphs,
            "document": {"number": self.number(article), "doc_type": "Quyết định", "issuer": ISSUER,
                         "signer": article.author, "issued": article.published.date().isoformat(),
                         "effective": article.published.date().isoformat(), "status": "Còn hiệu lực"},
        }

    # -- serving ------------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        if path == SEARCH:
            return self.html(self.search_page(int((query.get("Page") or ["1"])[0])))
        if path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{esc(self.absolute(self.article_path(a)))}</loc></url>" for a in self.articles)
            return Reply(200, ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                               f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode(),
                         "application/xml")
        item = (query.get("ItemID") or [""])[0]
        art = self.find(int(item)) if item.isdigit() else None
        if art is None:
            return None
        if path == "/TW/Pages/vbpq-toanvan.aspx":
            return self.html(self.fulltext_page(art))
        if path == "/TW/Pages/vbpq-thuoctinh.aspx":
            return self.html(self.properties_page(art))
        if path == "/TW/Pages/vbpq-luocdo.aspx":
            return self.html(self.chrome(art, "<div class='luocdo'>Lược đồ</div>"))
        return None

    def search_page(self, page: int) -> str:
        articles, more = self.page_of(self.articles, page)
        last = (len(self.articles) + self.per_page - 1) // self.per_page
        items = "\n".join(f"""  <li><div class="item">
    <p class="title"><a href="/TW/Pages/vbpq-toanvan.aspx?ItemID={a.id}&amp;Keyword=">Quyết định {esc(self.number(a))}</a></p>
    <div class="left"><div class="des">{esc(a.title)}</div>
      <div class="link"><ul>
        <li class="thuoctinh"><a href="/TW/Pages/vbpq-thuoctinh.aspx?dvid=13&amp;ItemID={a.id}">Thuộc tính</a></li>
        <li class="map"><a href="/TW/Pages/vbpq-luocdo.aspx?dvid=13&amp;ItemID={a.id}">Lược đồ</a></li>
      </ul></div></div>
    <div class="right"><p class="green"><label>Ban hành:</label> {a.published:%d/%m/%Y}</p>
      <p class="green"><label>Hiệu lực:</label> {a.published:%d/%m/%Y}</p><p class="red">Còn hiệu lực</p></div>
  </div></li>""" for a in articles)
        pages = "".join(f"<a href=\"javascript:Nexpage('divResultSearch','{n}');\">{n}</a>" for n in range(2, last + 1))
        return f"""<div class="message">Tìm thấy <strong>{len(self.articles)}</strong> văn bản</div>
<ul class="listLaw">
{items}
</ul>
<div class="paging"><a class="current">{page}</a>{pages if more or page > 1 else ""}</div>"""

    def chrome(self, a: ReplicaArticle, content: str) -> str:
        return f"""<!-- Timer: 0.0101 ms -->
<!DOCTYPE html>
<html class="ms-isBot" lang="vi-VN"><head><meta charset="utf-8"><title>Trung ương</title></head>
<body><form method="post" id="aspnetForm" action="./vbpq-toanvan.aspx?ItemID={a.id}">
<div id="header"><a href="/">CƠ SỞ DỮ LIỆU QUỐC GIA VỀ VĂN BẢN PHÁP LUẬT</a></div>
<div class="box-map"><ul><li><a href="/">CSDL quốc gia về VBPL</a><span> » </span></li><li>Trung ương</li></ul></div>
<div class="header"><ul>
  <li><a href="/TW/Pages/vbpq-toanvan.aspx?ItemID={a.id}"><b class="fulltext">Toàn văn</b></a></li>
  <li><a href="/TW/Pages/vbpq-thuoctinh.aspx?dvid=13&amp;ItemID={a.id}"><b class="properties">Thuộc tính</b></a></li>
</ul></div>
<div class="content">{content}</div>
<div id="footer"><p>CƠ SỞ DỮ LIỆU VĂN BẢN PHÁP LUẬT TRUNG ƯƠNG</p></div>
</form></body></html>"""

    def status_box(self, a: ReplicaArticle) -> str:
        return (f'<div class="vbInfo"><ul><li class="red"><span>Hiệu lực: </span>Còn hiệu lực</li>'
                f'<li class="green"><span>Ngày có hiệu lực: </span>{a.published:%d/%m/%Y}</li></ul></div>')

    def fulltext_page(self, a: ReplicaArticle) -> str:
        files = "".join(
            f"""<li><a href="javascript:downloadfile('{esc(att.path.rsplit('/', 1)[-1])}','{esc(att.path)}');">"""
            f"{esc(att.path.rsplit('/', 1)[-1])}</a></li>" for att in a.attachments)
        paragraphs = "".join(f"<p>{esc(p)}</p>" for p in a.paragraphs)
        return self.chrome(a, f"""<div class="fulltext">{self.status_box(a)}
<div><table align="left"><tr><td><div><b>ỦY BAN NHÂN DÂN TỈNH LAI CHÂU</b></div><div>Số: {esc(self.number(a))}</div></td></tr></table>
<table align="right"><tr><td><div><b>CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM</b></div><div><b>Độc lập - Tự do - Hạnh phúc</b></div>
<div><i>Lai Châu, ngày {a.published.day} tháng {a.published.month} năm {a.published.year}</i></div></td></tr></table>
<div style="clear:both;"></div>
<div class="toanvancontent" id="toanvancontent"><div>
<p align="center"><b>QUYẾT ĐỊNH</b></p><p align="center"><b>{esc(a.title)}</b></p>
{paragraphs}
<table class="table_cqbh_cd_nk"><tr><td><p>Chủ tịch</p></td></tr><tr><td><p><i>(Đã ký)</i></p></td></tr>
<tr><td><p>{esc(a.author)}</p></td></tr></table></div>
<div class="vbFile"><div class="header"><div>Tải file đính kèm</div></div><div class="content"><ul>
<li><span>File đính kèm:</span><ul>{files}</ul></li></ul></div></div>
</div></div></div>""")

    def properties_page(self, a: ReplicaArticle) -> str:
        return self.chrome(a, f"""{self.status_box(a)}<div class="vbProperties"><table>
<tr><td colspan="4" class="title">{esc(a.title)}</td></tr>
<tr><td class="label">Số ký hiệu</td><td>{esc(self.number(a))}</td><td class="label">Ngày ban hành</td><td>{a.published:%d/%m/%Y}</td></tr>
<tr><td class="label">Loại văn bản</td><td>Quyết định</td><td class="label">Ngày có hiệu lực</td><td>{a.published:%d/%m/%Y}</td></tr>
<tr><td class="label">Ngành</td><td>Hành chính</td><td class="label">Lĩnh vực</td><td>{esc(a.category or "Khác")}</td></tr>
<tr><td class="label">Cơ quan ban hành/ Chức danh / Người ký</td><td>{ISSUER}</td><td>Chủ tịch</td><td>{esc(a.author)}</td></tr>
<tr><td colspan="4">Tình trạng hiệu lực: Còn hiệu lực</td></tr>
</table></div>""")
