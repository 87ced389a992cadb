"""Replica sites: one module per platform, rendering :mod:`govarchive.replica.content` in its markup.

A module defines a :class:`ReplicaSite` subclass with ``platform = "<platform name>"``; it is discovered
automatically, like the platform parsers.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar
from urllib.parse import parse_qs, quote, urlsplit

from govarchive.replica.content import Attachment, ReplicaArticle
from portal_spiders.registry import PortalConfig

PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@dataclass
class _Index:
    """Lookups of a replica site's articles (see :meth:`ReplicaSite.index`)."""

    by_id: dict[int, ReplicaArticle] = field(default_factory=dict)
    by_path: dict[str, ReplicaArticle] = field(default_factory=dict)
    attachments: dict[str, tuple[Attachment, ReplicaArticle]] = field(default_factory=dict)


@dataclass
class Reply:
    """An HTTP reply of the replica."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def esc(text: str) -> str:
    """HTML-escape text for templates."""
    return html.escape(text, quote=True)


class ReplicaSite:
    """Base of a replica portal. Subclasses render listings and articles in their platform's markup."""

    platform: ClassVar[str] = ""
    per_page: ClassVar[int] = 5
    # IIS/SharePoint servers treat paths case-insensitively, so the archive keeps such URLs with folded paths.
    case_insensitive_paths: ClassVar[bool] = False

    def __init__(self, portal: PortalConfig, articles: list[ReplicaArticle]) -> None:
        self.portal = portal
        self.articles = sorted((self.localize(a) for a in articles), key=lambda a: a.published, reverse=True)
        self.broken = False  # when True, article pages lose their title markup (a "redesign")
        self.host = portal.hosts[0]
        self.taken_down: dict[int, tuple[int, str | None]] = {}  # article id -> (status, Location) replacing it
        self._index: _Index | None = None  # built on first use, dropped when the articles change

    # -- mutation (tests) ------------------------------------------------------------------------------

    def add_articles(self, articles: list[ReplicaArticle]) -> None:
        """Publish articles; listings stay newest first."""
        localized = [self.localize(a) for a in articles]
        self.articles = sorted([*localized, *self.articles], key=lambda a: a.published, reverse=True)
        self._index = None

    @staticmethod
    def localize(article: ReplicaArticle) -> ReplicaArticle:
        """Adapt shared content to the platform (e.g. attachment folders); identity by default."""
        return article

    def edit_article(self, article_id: int, **changes: object) -> ReplicaArticle:
        """Change an article in place (a correction published by the portal)."""
        for i, art in enumerate(self.articles):
            if art.id == article_id:
                self.articles[i] = art.edited(**changes)
                self._index = None  # a new title may mean a new path
                return self.articles[i]
        raise KeyError(article_id)

    def remove_article(self, article_id: int, status: int = 404) -> None:
        """Take an article down: its page answers ``status`` (404 or 410) from now on."""
        self.taken_down[article_id] = (status, None)

    def redirect_article(self, article_id: int, to: str = "/", status: int = 302) -> None:
        """Take an article down by redirecting its page (to the home page by default, or a listing path)."""
        self.taken_down[article_id] = (status, self.absolute(to))

    def empty_article(self, article_id: int) -> ReplicaArticle:
        """Empty an article: its page still answers 200, with neither title nor text."""
        return self.edit_article(article_id, malformed=True, lead="", paragraphs=[], attachments=[])

    def restore_article(self, article_id: int) -> None:
        """Undo :meth:`remove_article` / :meth:`redirect_article`."""
        self.taken_down.pop(article_id, None)

    def find(self, article_id: int) -> ReplicaArticle | None:
        """An article by id."""
        return self.index().by_id.get(article_id)

    def article_at(self, path: str) -> ReplicaArticle | None:
        """The article whose page is at ``path`` (and query, for platforms whose article URLs carry one)."""
        return self.index().by_path.get(path.lower() if self.case_insensitive_paths else path)

    def index(self) -> _Index:
        """Articles by id, by page path and attachments by path, built once per change of the articles.

        Two articles at one path would make the replica serve the wrong page for one of them: that raises.
        """
        index = self._index
        if index is None:
            index = _Index()
            for art in self.articles:  # newest first: the newest article wins an id or attachment path
                index.by_id.setdefault(art.id, art)
                path = self.article_path(art)
                key = path.lower() if self.case_insensitive_paths else path
                other = index.by_path.setdefault(key, art)
                if other is not art and other.id != art.id:
                    raise ValueError(f"replica articles {other.id} and {art.id} share the path {path}")
                for att in art.attachments:
                    index.attachments.setdefault(att.path, (att, art))
            self._index = index
        return index

    # -- URLs -------------------------------------------------------------------------------------------

    def absolute(self, path: str) -> str:
        """Real URL of a path on this portal."""
        return f"https://{self.host}{path}"

    def article_path(self, article: ReplicaArticle) -> str:
        """Path (and query) of an article page."""
        raise NotImplementedError

    def archived_url(self, article: ReplicaArticle) -> str:
        """The article's identity in the archive: https, host without ``www.``, folded path on IIS/SharePoint."""
        path = self.article_path(article)
        if self.case_insensitive_paths:
            path, sep, query = path.partition("?")
            path = path.lower() + sep + query
        return f"https://{self.host.removeprefix('www.')}{path}"

    def image_path(self, article: ReplicaArticle) -> str | None:
        """Path of the photo in the article's body (``None``: the page has none)."""
        return None

    def category_of(self, article: ReplicaArticle) -> str | None:
        """The category the article page shows (its breadcrumb); ``None`` when the page names none."""
        return article.category

    def attachment_url(self, path: str) -> str:
        """Real URL of an attachment path as a browser would request it (spaces percent-encoded)."""
        return self.absolute(quote(path))

    # -- ground truth ------------------------------------------------------------------------------------

    def expected(self, article: ReplicaArticle) -> dict[str, object]:
        """What the archive must hold for ``article`` after a crawl."""
        image = self.image_path(article)
        return {
            "url": self.archived_url(article),
            "title": article.title,
            "category": self.category_of(article),
            "images": [{"url": self.absolute(image), "caption": " ".join(article.image_caption.split())}]
            if image else [],
            "published": article.published.isoformat(),
            "author": article.author,
            "tags": article.tags,
            "attachments": [{"url": self.attachment_url(a.path), "name": a.name} for a in article.attachments],
            "summary": article.lead,
            "paragraphs": article.paragraphs,
        }

    @property
    def live_articles(self) -> list[ReplicaArticle]:
        """Articles a complete crawl must archive (not the deliberately malformed ones)."""
        return [a for a in self.articles if not a.malformed]

    # -- serving ------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        """Serve one request; ``None`` means 404."""
        if path == "/robots.txt":
            return Reply(200, b"User-agent: *\nDisallow: /_layouts/\nDisallow: /admin/\n", "text/plain")
        attached = self.index().attachments.get(path)
        if attached is not None:
            return self.attachment_reply(*attached)
        if path.endswith((".png", ".jpg")):
            return Reply(200, PNG_BYTES, "image/png")
        gone = self.taken_down_reply(path, query)
        reply = gone or self.route(method, path, query, form)
        if reply is None and path in ("", "/"):
            reply = self.home_page()
        return reply

    def home_page(self) -> Reply:
        """The portal's home page (where portals redirect articles they took down): the newest headlines."""
        items = "".join(f'<li><a href="{esc(self.article_path(a))}">{esc(a.title)}</a></li>' for a in self.articles[:8])
        return self.html(f"<!DOCTYPE html><html><head><title>Trang chủ</title></head><body><ul>{items}</ul>"
                         "</body></html>")

    def attachment_reply(self, att: Attachment, article: ReplicaArticle, *, disposition: bool = False) -> Reply:
        """An attachment's real bytes; spreadsheets (and ``disposition``) name the file in Content-Disposition."""
        from govarchive.replica.attachments import attachment_file

        body, ctype = attachment_file(att, article)
        headers = {}
        if disposition or att.path.endswith(".xlsx"):
            ext = att.path.rsplit(".", 1)[-1]
            filename = f"{att.name}.{ext}" if not att.name.endswith(f".{ext}") else att.name
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        return Reply(200, body, ctype, headers)

    def taken_down_reply(self, path: str, query: dict[str, list[str]]) -> Reply | None:
        """The answer replacing a taken-down article's page, if ``path``/``query`` is one."""
        for article_id, (status, location) in self.taken_down.items():
            art = self.find(article_id)
            if art is None:
                continue
            parts = urlsplit(self.article_path(art))
            if parts.path.lower() == path.lower() and parse_qs(parts.query) == query:
                if location:
                    return Reply(status, b"", "text/html; charset=utf-8", {"Location": location})
                return Reply(status, b"<html><body><h1>404 - Not Found</h1></body></html>")
        return None

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        """Platform-specific pages."""
        raise NotImplementedError

    def page_of(self, articles: list[ReplicaArticle], page: int) -> tuple[list[ReplicaArticle], bool]:
        """One listing page of ``articles`` and whether another page follows."""
        start = (page - 1) * self.per_page
        return articles[start:start + self.per_page], start + self.per_page < len(articles)

    @staticmethod
    def body_paragraphs(article: ReplicaArticle, after_first: str) -> str:
        """The article's paragraphs as ``<p>`` elements, ``after_first`` (an image, a box) after the first one.

        The second paragraph is served in decomposed Unicode (NFD), as text pasted from Word or PDF often is.
        """
        parts = []
        for i, text in enumerate(article.paragraphs):
            parts.append(f"<p>{esc(unicodedata.normalize('NFD', text) if i == 1 else text)}</p>")
            if i == 0:
                parts.append(after_first)
        return "".join(parts)

    @staticmethod
    def html(body: str, status: int = 200) -> Reply:
        """An HTML reply."""
        return Reply(status, body.encode("utf-8"))


@cache
def site_classes() -> dict[str, type[ReplicaSite]]:
    """Replica site classes by platform name."""
    found: dict[str, type[ReplicaSite]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, ReplicaSite) and obj.platform and \
                    obj.__module__ == module.__name__:
                found[obj.platform] = obj
    return found
