"""WARC captures: records that standard tools accept, pointers that replay, and recovery after a killed writer."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from govarchive.archive import Archive
from portal_spiders.warc import (
    OPEN_SUFFIX,
    Exchange,
    WarcWriter,
    complete_members_end,
    pointer_path,
    read_response,
    recover_directory,
)
from tests.conftest import ROOT, clean_env

WARCIO = [sys.executable, "-m", "warcio.cli"]


def _exchange(i: int, body: bytes | None = None) -> Exchange:
    page = f"<html><head><title>Bài {i}</title></head><body><p>Nội dung {i}</p></body></html>".encode()
    return Exchange(url=f"https://laichau.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID={i}", method="GET",
                    request_headers=[("User-Agent", "govarchive-test"), ("Accept-Encoding", "gzip")],
                    request_body=b"", status=200, reason="OK", protocol="HTTP/1.1",
                    response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
                                      ("Transfer-Encoding", "chunked")],
                    body=body if body is not None else gzip.compress(page), metadata={"via": "https://x/"})


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WARCIO, *args], capture_output=True, text=True, timeout=120, check=False,
                          env=clean_env())


def test_records_pass_warcio_check_and_index_and_replay_from_their_offset(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path / "warc", label="t", max_size=3000, relative_to=tmp_path)
    pointers = [writer.write(_exchange(i)) for i in range(8)]
    writer.close()
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(files) > 1, "rotated by size"
    assert not list((tmp_path / "warc").glob(f"*{OPEN_SUFFIX}"))
    for path in files:
        assert _tool("check", str(path)).returncode == 0
        index = _tool("index", "-f", "warc-type,warc-target-uri,offset", str(path))
        assert index.returncode == 0 and '"warc-type": "warcinfo"' in index.stdout
        assert index.stdout.count('"warc-type": "response"') == index.stdout.count('"warc-type": "request"')
    for i, pointer in enumerate(pointers):
        assert not Path(pointer["file"]).is_absolute() and pointer["file"].startswith("warc/")
        captured = read_response(tmp_path / pointer["file"], pointer["offset"])
        # the stored payload is the gzip the server sent; reading undoes the Content-Encoding like Scrapy would
        assert f"Nội dung {i}".encode() in captured.body
        assert captured.record_id == pointer["record_id"] and captured.digest == pointer["digest"]
        assert captured.url.endswith(f"ItemID={i}") and captured.status == 200
        # chunked framing was undone by Twisted: renamed, and Content-Length matches the stored (compressed) body
        assert captured.header("X-Govarchive-Orig-Transfer-Encoding") == "chunked"
        assert captured.header("Transfer-Encoding") is None
        with open(tmp_path / pointer["file"], "rb") as fh:
            fh.seek(pointer["offset"])
            member = fh.read(pointer["length"])
        assert b"WARC-Type: response" in zlib.decompress(member, zlib.MAX_WBITS | 16)


def test_recovery_cuts_a_partial_record_and_closes_the_file(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, label="t")
    pointers = [writer.write(_exchange(i)) for i in range(3)]
    name = Path(pointers[0]["file"]).name
    writer._out.flush()  # the writer "dies" here: file still .open, then a record cut in the middle
    open_path = tmp_path / (name + OPEN_SUFFIX)
    good_size = open_path.stat().st_size
    partial = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + os.urandom(5000))[:700]
    writer._out.write(partial)
    writer._out.flush()
    writer._out.close()  # releases the flock, as the kernel does when a process dies
    with open(open_path, "rb") as fh:
        assert complete_members_end(fh) == good_size
    found = recover_directory(tmp_path)
    assert [(r.path.name, r.good_end, r.cut) for r in found] == [(name, good_size, len(partial))]
    assert (tmp_path / name).stat().st_size == good_size and not open_path.exists()
    assert _tool("check", str(tmp_path / name)).returncode == 0
    assert read_response(tmp_path / name, pointers[2]["offset"]).url.endswith("ItemID=2")
    assert recover_directory(tmp_path) == []  # nothing left to do


def test_a_file_still_held_by_its_writer_is_left_alone(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, label="t")
    writer.write(_exchange(1))
    assert recover_directory(tmp_path) == []
    assert len(list(tmp_path.glob(f"*{OPEN_SUFFIX}"))) == 1
    writer.close()


def test_pointers_into_a_cut_region_are_dropped(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Archive(db) as archive:
        keep = {"record_id": "<urn:uuid:1>", "file": "warc/x.warc.gz", "offset": 10, "length": 5}
        lost = {"record_id": "<urn:uuid:2>", "file": "warc/x.warc.gz", "offset": 900, "length": 5}
        archive.store_article({"url": "https://a/1", "portal": "p", "title": "A", "capture": keep}, content_hash="1")
        archive.store_article({"url": "https://a/2", "portal": "p", "title": "B", "capture": lost}, content_hash="2")
        assert archive.forget_captures(["warc/x.warc.gz"], from_offset=500) == 1
        assert archive.get_article("https://a/1")["capture_id"] is not None
        assert archive.get_article("https://a/2")["capture_id"] is None
        assert archive.count("captures") == 1


# -- end to end, against the replica --------------------------------------------------------------------------


@pytest.mark.slow
def test_crawl_captures_every_response_and_an_article_replays_from_its_pointer(replica, crawl, tmp_path: Path) -> None:
    from govarchive.reextract import Reextractor

    db = tmp_path / "a.db"
    result = crawl("laichau-dcs", db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert files and not list((tmp_path / "warc").glob(f"*{OPEN_SUFFIX}"))
    uris: list[str] = []
    for path in files:
        assert _tool("check", str(path)).returncode == 0, path
        index = _tool("index", "-f", "warc-type,warc-target-uri", str(path))
        assert index.returncode == 0
        uris += [line for line in index.stdout.splitlines() if '"response"' in line]
    joined = "\n".join(uris)
    for kind in ("robots.txt", "chi-tiet-tin.aspx", "TinTuc')/items", ".pdf", ".jpg"):
        assert kind in joined, f"no {kind} response captured"
    served = [entry for entry in replica.state.requests_for("laichau.dcs.vn")]
    assert len(uris) == len(served), "one response record per response received"
    with Archive(db) as archive:
        rows = list(archive.iter_articles())
        assert rows and all(r["capture_id"] for r in rows)
        row = rows[0]
        capture = archive.capture(row["capture_id"])
        assert capture["digest"].startswith("sha1:") and capture["record_id"].startswith("<urn:uuid:")
        captured = read_response(pointer_path(capture["file"], db), capture["offset"])
        assert captured.record_id == capture["record_id"]
        item = Reextractor(archive).item_from_capture(captured, row["portal"], row["platform"])
        assert (item.url, item.title, item.body_text) == (row["url"], row["title"], row["body_text"])
        assert archive.count("attachments", "capture_id is null and status = 'stored'") == 0


@pytest.mark.slow
def test_sigkill_leaves_no_pointer_to_a_partial_record(tmp_path: Path) -> None:
    from govarchive.replica.server import ReplicaServer, ReplicaState

    server = ReplicaServer(ReplicaState.from_registry(["laichau-dcs"], articles_per_portal=40)).start()
    db = tmp_path / "a.db"
    try:
        cmd = [sys.executable, "-m", "scrapy", "crawl", "laichau-dcs", "-s", f"ARCHIVE_DB={db}",
               "-s", f"REPLICA_URL={server.url}", "-s", "DOWNLOAD_DELAY=0.01", "-s", "AUTOTHROTTLE_ENABLED=0",
               "-s", "ARCHIVE_BATCH_SIZE=2", "-s", "LOG_LEVEL=WARNING"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
        deadline = time.monotonic() + 120
        while len(server.state.log) < 40 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        left_open = list((tmp_path / "warc").glob(f"*{OPEN_SUFFIX}"))
        assert len(left_open) == 1, "the killed writer left its file open"
        # a kill in the middle of a write leaves a cut gzip member at the end: make sure this one does
        with open(left_open[0], "ab") as fh:
            fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + os.urandom(4000))[:1500])
        result = subprocess.run([*cmd[:-2], "-s", "LOG_LEVEL=INFO"], cwd=ROOT, capture_output=True, text=True,
                                timeout=300, check=False, env=clean_env())
        assert result.returncode == 0, result.stderr[-3000:]
        assert "ended in a partial record" in result.stderr
    finally:
        server.stop()
    assert not list((tmp_path / "warc").glob(f"*{OPEN_SUFFIX}"))
    for path in (tmp_path / "warc").glob("*.warc.gz"):
        assert _tool("check", str(path)).returncode == 0, path
    with Archive(db) as archive:
        assert archive.count("articles") == 40
        for capture in archive.db["captures"].rows:
            path = pointer_path(capture["file"], db)
            assert capture["offset"] + capture["length"] <= path.stat().st_size
            assert read_response(path, capture["offset"]).record_id == capture["record_id"]


def test_rotation_defaults_to_one_gib() -> None:
    from scrapy.settings import Settings

    from portal_spiders import settings as project_settings
    from portal_spiders.warc import DEFAULT_MAX_SIZE

    assert DEFAULT_MAX_SIZE == 1024**3
    assert Settings(vars(project_settings)).getint("WARC_MAX_SIZE") == 1024**3
    assert WarcWriter.__init__.__kwdefaults__["max_size"] == 1024**3


def _govarchive_crawl(db: Path, replica_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "govarchive.cli", "crawl", "laichau-dcs", "--db", str(db), "--replica", replica_url,
           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=clean_env())


@pytest.mark.slow
def test_crawl_warc_dir_and_no_warc_options(replica, tmp_path: Path) -> None:
    # --warc-dir: captures go there (outside the archive's folder: pointers are absolute) and replay
    (tmp_path / "a").mkdir()
    db, elsewhere = tmp_path / "a" / "a.db", tmp_path / "captures"
    result = _govarchive_crawl(db, replica.url, "--warc-dir", str(elsewhere))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert not (tmp_path / "a" / "warc").exists(), "nothing in the default folder"
    files = sorted(elsewhere.glob("*.warc.gz"))
    assert files and all(_tool("check", str(path)).returncode == 0 for path in files)
    with Archive(db) as archive:
        rows = list(archive.iter_articles())
        assert len(rows) == 12 and all(r["capture_id"] for r in rows)
        capture = archive.capture(rows[0]["capture_id"])
        assert Path(capture["file"]).is_absolute() and Path(capture["file"]).parent == elsewhere.resolve()
        captured = read_response(pointer_path(capture["file"], db), capture["offset"])
        assert (captured.record_id, captured.status) == (capture["record_id"], 200)
    # --no-warc: no WARC folder at all, articles without pointers
    (tmp_path / "b").mkdir()
    db = tmp_path / "b" / "b.db"
    result = _govarchive_crawl(db, replica.url, "--no-warc")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert not (tmp_path / "b" / "warc").exists()
    with Archive(db) as archive:
        assert archive.count("articles") == 12
        assert archive.count("articles", "capture_id is not null") == 0 and archive.count("captures") == 0


def test_a_file_that_cannot_be_finished_is_one_line_and_stays_readable(tmp_path: Path, caplog) -> None:
    """Closing on a full disk (`ulimit -f`, ENOSPC) logs one line; the file stays .open with its complete records."""
    writer = WarcWriter(tmp_path, label="t")
    pointer = writer.write(_exchange(1))
    name = Path(pointer["file"]).name
    real = writer._out

    class Full:
        def flush(self) -> None:
            raise OSError(27, "File too large")

        def close(self) -> None:
            real.close()

    writer._out = Full()  # type: ignore[assignment]
    writer.close()  # no exception
    assert "could not be finished" in caplog.text and "Traceback" not in caplog.text
    assert not (tmp_path / name).exists()
    assert read_response(tmp_path / (name + OPEN_SUFFIX), pointer["offset"]).url.endswith("ItemID=1")
    writer.close()  # nothing left to close


def test_gzip_members_are_ordinary_gzip() -> None:
    """Members come from ISA-L (python-isal), not zlib: stdlib gzip and zlib must read them, one by one and
    concatenated, as any WARC reader would."""
    import gzip
    import zlib

    from portal_spiders.warc import _member

    page = "<p>Ủy ban nhân dân tỉnh Lai Châu</p>".encode() * 500
    blob = bytes(range(256)) * 40
    joined = _member(page) + _member(blob) + _member(b"")
    assert gzip.decompress(joined) == page + blob
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert d.decompress(_member(page)) == page and d.eof and d.unused_data == b""
    assert len(_member(page)) < len(page) // 10


def test_compressed_bodies_are_stored_not_deflated_again(tmp_path: Path) -> None:
    """JPEG, zip-based and content-encoded bodies go into stored gzip members (a CRC, no deflate pass); HTML is
    deflated. Both read back the same and pass warcio's check."""
    import gzip
    import random

    from portal_spiders.warc import _member, compressed_already

    for size in (0, 1, 65535, 65536, 200_000):
        data = random.Random(size).randbytes(size)
        assert gzip.decompress(_member(data, stored=True) + _member(b"x")) == data + b"x"
    assert compressed_already([("Content-Type", "image/jpeg")])
    assert compressed_already([("content-type", "application/vnd.openxmlformats-officedocument.wordprocessingml"
                                                ".document; charset=binary")])
    assert compressed_already([("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
    assert not compressed_already([("Content-Type", "text/html; charset=utf-8")])
    assert not compressed_already([("Content-Type", "application/pdf")])  # often uncompressed streams

    jpeg = b"\xff\xd8\xff\xe0" + random.Random(7).randbytes(120_000)
    page = "<p>Ủy ban nhân dân tỉnh Lai Châu</p>".encode() * 2000
    writer = WarcWriter(tmp_path / "warc", label="t", relative_to=tmp_path)
    image = _exchange(1, jpeg)
    image.response_headers = [("Content-Type", "image/jpeg")]
    html = _exchange(2, page)
    html.response_headers = [("Content-Type", "text/html; charset=utf-8")]
    pointers = [writer.write(image), writer.write(html)]
    writer.close()
    assert pointers[0]["length"] > len(jpeg) and pointers[1]["length"] < len(page) // 10
    assert read_response(tmp_path / pointers[0]["file"], pointers[0]["offset"]).body == jpeg
    assert read_response(tmp_path / pointers[1]["file"], pointers[1]["offset"]).body == page
    assert _tool("check", str(tmp_path / pointers[0]["file"])).returncode == 0
