"""Tests for i2i.datatools.download against a real HTTP server on 127.0.0.1 serving tiny real archives."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import re
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import py7zr
import pytest
from helpers import write_aligned
from PIL import Image

from i2i.cli import main
from i2i.data.paired import list_pairs
from i2i.datatools.download import DATASETS, SKETCHY_VARIANT, download_dataset
from i2i.datatools.sketchy import VARIANT
from i2i.imageio import read_image

FACADES = "/pix2pix/datasets/facades.tar.gz"
HORSES = "/cyclegan/datasets/horse2zebra.zip"
UNPAIRED = ("trainA", "trainB", "testA", "testB")


class Server(ThreadingHTTPServer):
    """Serves ``files`` (URL path → bytes) with Range support; records every request as (path, Range header)."""

    files: dict[str, bytes]
    requests: list[tuple[str, str | None]]
    cut_after: int | None  # the next response stops after this many body bytes, then the connection closes
    cut_always: bool  # cut_after applies to every response, not just the next one
    ignore_range: bool


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        srv, wanted = self.server, self.headers.get("Range")
        srv.requests.append((self.path, wanted))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if wanted and not srv.ignore_range:
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if srv.cut_after is not None:
            body = body[: srv.cut_after]
            srv.cut_after = srv.cut_after if srv.cut_always else None
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def isolate(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Requests go straight to the test server, whatever the machine's proxy settings; i2i's INFO logs are kept."""
    caplog.set_level(logging.INFO, logger="i2i")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("I2I_DATASETS_URL", raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.files, srv.requests, srv.cut_after, srv.cut_always, srv.ignore_range = {}, [], None, False, False
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def base(srv: Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def pix2pix_tar(tmp_path: Path, seed: int = 0, splits: tuple[str, ...] = ("train", "val", "test")) -> bytes:
    """A facades.tar.gz as the pix2pix authors publish it: facades/<split>/<i>.jpg with A|B side by side."""
    src = tmp_path / f"src{seed}" / "facades"
    write_aligned(src, {split: 3 if split == "train" else 1 for split in splits}, size=16, seed=seed, ext=".jpg")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(src, arcname="facades")
    return buffer.getvalue()


def jpeg(rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def cyclegan_zip(top: str = "horse2zebra/") -> bytes:
    """A CycleGAN zip: <top>trainA/, trainB/, testA/, testB/ of JPEG files (with folder entries, as zip makes them)."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        if top:
            zf.writestr(top, b"")
        for folder in UNPAIRED:
            zf.writestr(f"{top}{folder}/", b"")
            for i in range(2):
                zf.writestr(f"{top}{folder}/n0{i}.jpg", jpeg(rng))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(["data", "download", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("i2i: error: "), err
    assert "Traceback" not in err
    return lines[0]


def assert_nothing_installed(to: Path, name: str = "facades") -> None:
    assert not (to / name).exists()
    assert not (to / ".partial").exists(), list((to / ".partial").iterdir())


def assert_facades(folder: Path, archive: bytes) -> None:
    """The unpacked dataset is the aligned layout, its images decode, and SOURCE.json names the archive's sha256."""
    assert {p.name for p in folder.iterdir()} == {"train", "val", "test", "SOURCE.json"}
    report = list_pairs(folder, "train")
    assert report.layout == "aligned" and len(report.records) == 3 and not report.problems
    assert read_image(report.records[0].path_a).shape == (16, 32, 3)
    record = json.loads((folder / "SOURCE.json").read_text())
    assert record["sha256"] == sha(archive) and record["size"] == len(archive) and record["layout"] == "aligned"


def test_download_pix2pix_tar_into_aligned_layout(server: Server, tmp_path: Path, capsys, caplog) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES] = archive
    to = tmp_path / "datasets"
    code, out, err = run_cli(capsys, "facades", "--to", str(to), "--base-url", base(server))
    assert code == 0, err
    assert_facades(to / "facades", archive)
    assert server.requests == [(FACADES, None)]
    assert sha(archive) in out and "trust on first use" in caplog.text
    assert sorted(p.name for p in to.iterdir()) == ["facades"]  # no .partial, no temp folders
    # A second run finds it and asks nothing of the server.
    code, out, _ = run_cli(capsys, "facades", "--to", str(to), "--base-url", base(server))
    assert code == 0 and "already there" in out and len(server.requests) == 1


def test_download_cyclegan_zip_into_unpaired_layout(server: Server, tmp_path: Path, monkeypatch) -> None:
    archive = cyclegan_zip()
    server.files[HORSES] = archive
    monkeypatch.setenv("I2I_DATASETS_URL", base(server))  # the environment variable works like --base-url
    result = download_dataset("horse2zebra", tmp_path, progress=False)
    folder = tmp_path / "horse2zebra"
    assert result.path == folder and result.sha256 == sha(archive) and result.verified_by is None
    for name in UNPAIRED:
        files = sorted(p.name for p in (folder / name).iterdir())
        assert files == ["n00.jpg", "n01.jpg"]
        assert read_image(folder / name / files[0]).shape == (16, 16, 3)
    assert json.loads((folder / "SOURCE.json").read_text())["url"] == base(server) + HORSES


def test_interrupted_download_resumes_with_a_range_request(server: Server, tmp_path: Path, caplog) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES] = archive
    server.cut_after = 1000  # the first connection breaks off after 1000 bytes
    download_dataset("facades", tmp_path, base_url=base(server), progress=False)
    assert server.requests == [(FACADES, None), (FACADES, "bytes=1000-")]
    assert "connection closed after 1000 of" in caplog.text
    assert_facades(tmp_path / "facades", archive)


def test_a_download_that_keeps_breaking_off_is_kept_for_the_next_run(
    server: Server, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("i2i.datatools.download._ATTEMPTS", 2)
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES], server.cut_after, server.cut_always = archive, 700, True
    args = ["facades", "--to", str(tmp_path), "--base-url", base(server)]
    code, _, err = run_cli(capsys, *args)
    line = one_line_error(err)
    assert code == 2 and "broke off 2 times" in line and "run the same command again to resume" in line
    assert (tmp_path / ".partial" / "facades.tar.gz.part").stat().st_size == 1400
    server.cut_after = None  # the network is back
    assert run_cli(capsys, *args)[0] == 0
    assert [r[1] for r in server.requests] == [None, "bytes=700-", "bytes=1400-"]
    assert_facades(tmp_path / "facades", archive)


def test_rerun_resumes_from_the_partial_file(server: Server, tmp_path: Path) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES] = archive
    part = tmp_path / ".partial" / "facades.tar.gz.part"
    part.parent.mkdir()
    part.write_bytes(archive[:1234])  # what a killed earlier run left behind
    download_dataset("facades", tmp_path, base_url=base(server), progress=False)
    assert server.requests == [(FACADES, "bytes=1234-")]
    assert_facades(tmp_path / "facades", archive)
    assert not part.parent.exists()


def test_server_ignoring_range_restarts_from_zero(server: Server, tmp_path: Path, caplog) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES], server.ignore_range = archive, True
    part = tmp_path / ".partial" / "facades.tar.gz.part"
    part.parent.mkdir()
    part.write_bytes(b"x" * 1000)  # wrong bytes: appending the 200 answer to them would corrupt the archive
    download_dataset("facades", tmp_path, base_url=base(server), progress=False)
    assert server.requests == [(FACADES, "bytes=1000-")]
    assert "does not resume downloads; starting over" in caplog.text
    assert_facades(tmp_path / "facades", archive)


def test_range_not_satisfiable_means_the_partial_file_is_complete(server: Server, tmp_path: Path) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES] = archive
    part = tmp_path / ".partial" / "facades.tar.gz.part"
    part.parent.mkdir()
    part.write_bytes(archive)  # an earlier run downloaded everything but stopped before unpacking
    download_dataset("facades", tmp_path, base_url=base(server), progress=False)
    assert server.requests == [(FACADES, f"bytes={len(archive)}-")]  # answered 416: nothing downloaded again
    assert_facades(tmp_path / "facades", archive)


def test_checksum_mismatch_names_both_and_deletes_the_download(server: Server, tmp_path: Path, capsys) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES] = archive
    code, _, err = run_cli(capsys, "facades", "--to", str(tmp_path), "--base-url", base(server), "--sha256", "ab" * 32)
    assert code == 2
    line = one_line_error(err)
    assert f"expected sha256 {'ab' * 32} from --sha256, got {sha(archive)}" in line
    assert "the download was deleted" in line
    assert_nothing_installed(tmp_path)
    # The right checksum passes.
    code, out, _ = run_cli(
        capsys, "facades", "--to", str(tmp_path), "--base-url", base(server), "--sha256", sha(archive)
    )
    assert code == 0 and "verified against --sha256" in out


def test_a_known_registry_checksum_is_enforced(server: Server, tmp_path: Path, monkeypatch) -> None:
    archive = pix2pix_tar(tmp_path)
    server.files[FACADES] = archive
    entry = DATASETS.get("facades")
    monkeypatch.setitem(DATASETS._entries, "facades", dataclasses.replace(entry, sha256="0" * 64))
    with pytest.raises(Exception, match=f"from the registry, got {sha(archive)}; the download was deleted") as info:
        download_dataset("facades", tmp_path / "a", base_url=base(server), progress=False)
    assert "--sha256" not in str(info.value)  # no invitation to override a published checksum
    monkeypatch.setitem(DATASETS._entries, "facades", dataclasses.replace(entry, sha256=sha(archive)))
    result = download_dataset("facades", tmp_path / "b", base_url=base(server), progress=False)
    assert result.verified_by == "the registry"


def test_trust_on_first_use_guards_a_later_download(server: Server, tmp_path: Path, capsys) -> None:
    first, second = pix2pix_tar(tmp_path, seed=0), pix2pix_tar(tmp_path, seed=1)
    server.files[FACADES] = first
    args = ["facades", "--to", str(tmp_path), "--base-url", base(server)]
    assert run_cli(capsys, *args)[0] == 0
    server.files[FACADES] = second  # the server's file changed
    code, _, err = run_cli(capsys, *args, "--overwrite")
    line = one_line_error(err)
    assert code == 2 and f"expected sha256 {sha(first)}" in line and f"--sha256 {sha(second)}" in line
    assert_facades(tmp_path / "facades", first)  # the installed dataset is untouched
    assert run_cli(capsys, *args, "--overwrite", "--sha256", sha(second))[0] == 0
    assert_facades(tmp_path / "facades", second)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) * 2 // 3], "is damaged and cannot be unpacked"),
        (lambda data: b"<html>Not Found</html>" * 50, "is neither a zip, a tar nor a 7z archive"),
    ],
    ids=["truncated", "not-an-archive"],
)
def test_damaged_archive_is_one_line_and_leaves_nothing(server: Server, tmp_path: Path, capsys, damage, message):
    server.files[FACADES] = damage(pix2pix_tar(tmp_path))
    code, _, err = run_cli(capsys, "facades", "--to", str(tmp_path / "d"), "--base-url", base(server))
    line = one_line_error(err)
    assert code == 2 and message in line and "nothing was installed" in line
    assert_nothing_installed(tmp_path / "d")


def test_archive_without_the_expected_folders_is_refused(server: Server, tmp_path: Path) -> None:
    server.files[FACADES] = pix2pix_tar(tmp_path, splits=("train", "val"))
    with pytest.raises(Exception, match="does not hold the facades dataset: expected the folders train, val, test"):
        download_dataset("facades", tmp_path / "d", base_url=base(server), progress=False)
    assert_nothing_installed(tmp_path / "d")


def add_member(tar: tarfile.TarFile, name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    data = b"pwned" if kind == tarfile.REGTYPE else b""
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


HOSTILE_TAR = {
    "dotdot": [("facades/../../evil.txt",)],
    "absolute": [("{outside}/evil.txt",)],
    "symlink-out": [("facades/link", tarfile.SYMTYPE, "../../outside"), ("facades/link/evil.txt",)],
    "symlink-chain": [
        ("facades/l1", tarfile.SYMTYPE, ".."),  # inside: the unpack folder itself
        ("facades/l2", tarfile.SYMTYPE, "l1/.."),  # looks inside, resolves outside through l1
        ("facades/l2/evil.txt",),
    ],
    "hardlink-out": [("facades/hard", tarfile.LNKTYPE, "../outside/secret.txt")],
    "device": [("facades/dev", tarfile.CHRTYPE)],
}


@pytest.mark.parametrize(
    ("case", "data_filter"),
    [(case, True) for case in HOSTILE_TAR] + [(case, False) for case in HOSTILE_TAR] + [("zip-slip", True)],
)
def test_unsafe_archive_members_are_refused(tmp_path: Path, capsys, monkeypatch, case: str, data_filter: bool):
    """Refused by i2i's own checks, with tarfile's data filter (Python 3.11.4+) and without it (older Pythons)."""
    if not data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    archive = tmp_path / "facades.tar.gz"
    if case == "zip-slip":
        archive = tmp_path / "facades.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("facades/train/1.jpg", b"x")
            zf.writestr("facades/../../evil.txt", b"pwned")
    else:
        with tarfile.open(archive, "w:gz") as tar:
            for split in ("train", "val", "test"):  # a real dataset first, so a half-unpacked one would be visible
                add_member(tar, f"facades/{split}", tarfile.DIRTYPE)
            for member in HOSTILE_TAR[case]:
                add_member(tar, member[0].format(outside=outside), *member[1:])
    to = tmp_path / "datasets"
    code, _, err = run_cli(capsys, "facades", "--to", str(to), "--archive", str(archive))
    line = one_line_error(err)
    assert code == 2 and "nothing was installed" in line
    assert any(word in line for word in ("unsafe path", "leading outside", "device or special file")), line
    assert_nothing_installed(to)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not (tmp_path / "evil.txt").exists() and archive.exists()  # the user's own archive is kept


@pytest.mark.parametrize("where", ["closed-port", "unresolvable-host", "silent-server"])
def test_offline_fails_fast_with_the_manual_route(tmp_path: Path, capsys, where: str) -> None:
    listener = None
    if where == "closed-port":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        probe.close()
    elif where == "unresolvable-host":
        url = "http://nonexistent.invalid"
    else:  # accepts connections (the kernel's backlog) and never answers
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    start = time.monotonic()
    try:
        code, _, err = run_cli(capsys, "facades", "--to", str(tmp_path), "--base-url", url, "--timeout", "0.5")
    finally:
        if listener is not None:
            listener.close()
    assert time.monotonic() - start < 5
    line = one_line_error(err)
    assert code == 2 and f"cannot download facades from {url}{FACADES}" in line
    assert "--archive PATH/facades.tar.gz" in line and f"{tmp_path / 'facades'}/ holds train, val, test" in line
    if where == "silent-server":
        assert "no answer within 0.5 s" in line
    assert_nothing_installed(tmp_path)


def test_http_error_is_one_line(server: Server, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "facades", "--to", str(tmp_path), "--base-url", base(server))
    assert code == 2 and "HTTP 404" in one_line_error(err)


def test_install_from_a_local_archive_needs_no_server(tmp_path: Path, capsys) -> None:
    data = pix2pix_tar(tmp_path)
    archive = tmp_path / "downloads" / "facades.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(data)
    to = tmp_path / "datasets"
    code, out, err = run_cli(
        capsys, "facades", "--to", str(to), "--archive", str(archive), "--base-url", "http://x.invalid"
    )
    assert code == 0, err
    assert_facades(to / "facades", data)
    assert json.loads((to / "facades" / "SOURCE.json").read_text())["archive"] == str(archive.resolve())
    assert archive.read_bytes() == data and sorted(p.name for p in to.iterdir()) == ["facades"]
    code, _, err = run_cli(capsys, "facades", "--to", str(tmp_path / "x"), "--archive", str(tmp_path / "missing.tgz"))
    assert code == 2 and "no such file" in one_line_error(err)


def test_selfie2anime_explains_where_to_get_it_and_installs_from_the_archive(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "selfie2anime", "--to", str(tmp_path))
    line = one_line_error(err)
    assert code == 2 and "no stable public archive" in line and "github.com/taki0112/UGATIT" in line
    assert f"--to {tmp_path} --archive PATH/selfie2anime.zip" in line
    archive = tmp_path / "selfie2anime.zip"
    archive.write_bytes(cyclegan_zip(top=""))  # folders at the top of the zip, no selfie2anime/ folder
    code, out, err = run_cli(capsys, "selfie2anime", "--to", str(tmp_path), "--archive", str(archive))
    assert code == 0, err
    assert {p.name for p in (tmp_path / "selfie2anime").iterdir()} == {*UNPAIRED, "SOURCE.json"}


def test_unknown_name_suggests_the_closest(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "facade", "--to", str(tmp_path))
    line = one_line_error(err)
    assert code == 2 and "unknown dataset 'facade' (did you mean 'facades'?)" in line and "horse2zebra" in line


def test_existing_folder_that_is_not_the_dataset_needs_overwrite(tmp_path: Path, capsys) -> None:
    (tmp_path / "facades" / "train").mkdir(parents=True)
    code, _, err = run_cli(capsys, "facades", "--to", str(tmp_path), "--archive", str(tmp_path / "none.tar.gz"))
    assert code == 2 and "exists but does not hold train, val, test; pass --overwrite" in one_line_error(err)


def test_timeout_must_be_positive(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["data", "download", "facades", "--to", str(tmp_path), "--timeout", "0"])
    assert info.value.code == 2 and "expected a positive number of seconds" in capsys.readouterr().err


def test_help_states_the_checksum_policy(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["data", "download", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "trust on first use" in out and "--sha256" in out and "--archive" in out
    assert all(name in out for name in DATASETS.names())


def test_registry_entries() -> None:
    expected = {
        "facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day",
        "horse2zebra", "apple2orange", "summer2winter_yosemite", "selfie2anime", "sketchy",
    }  # fmt: skip
    assert set(DATASETS.names()) == expected
    for name in expected:
        source = DATASETS.get(name)
        assert source.layout in ("aligned", "unpaired", "sketchy") and source.note and len(source.sides) == 2
        assert source.sha256 is None or len(source.sha256) == 64
        if source.layout == "aligned":
            assert source.path == f"pix2pix/datasets/{name}.tar.gz" and "train" in source.folders
        elif source.path is not None:
            assert source.path == f"cyclegan/datasets/{name}.zip" and source.folders == UNPAIRED
    assert DATASETS.get("selfie2anime").path is None and DATASETS.get("selfie2anime").manual
    assert "registering with its owners" in DATASETS.get("cityscapes").note
    sketchy = DATASETS.get("sketchy")
    assert sketchy.path is None and sketchy.sha256 is None and sketchy.file == "rendered_256x256.7z"
    assert sketchy.folders == (f"256x256/photo/{VARIANT}", f"256x256/sketch/{VARIANT}") and SKETCHY_VARIANT == VARIANT


# Sketchy: the authors' rendered_256x256.7z ----------------------------------------------------------------------

SKETCHY = "/sketchy/rendered_256x256.7z"  # where the test server serves it when the registry is given a path
CATEGORIES = ("cat", "car_(sedan)")


def png(rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def sketchy_7z(top: str = "256x256/", extra: tuple[tuple[str, bytes], ...] = (), seed: int = 0) -> bytes:
    """A .7z laid out like the authors' rendered_256x256.7z: <top>photo/<variant>/<category>/<id>.jpg and
    <top>sketch/<variant>/<category>/<id>-<n>.png, 2 photos per category with 2 sketches each, plus one augmented
    variant; ``extra`` members (name, bytes) are added as they are, past py7zr's own check of names."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as zf:
        for variant in (VARIANT, "tx_000000000010"):
            for category in CATEGORIES:
                for i in range(2):
                    zf.writestr(jpeg(rng), f"{top}photo/{variant}/{category}/n0{i}.jpg")
                    for n in (1, 2):
                        zf.writestr(png(rng), f"{top}sketch/{variant}/{category}/n0{i}-{n}.png")
        for name, data in extra:
            zf._writestr(data, name)  # the public writestr refuses unsafe names: a hostile archive skips that check
    return buffer.getvalue()


def assert_sketchy(folder: Path, archive: bytes) -> None:
    """The official layout, every variant the archive held, and SOURCE.json naming the archive."""
    assert {p.name for p in folder.iterdir()} == {"256x256", "SOURCE.json"}
    for kind, ext, count in (("photo", ".jpg", 2), ("sketch", ".png", 4)):
        for variant in (VARIANT, "tx_000000000010"):
            for category in CATEGORIES:
                files = sorted((folder / "256x256" / kind / variant / category).iterdir())
                assert len(files) == count and all(f.suffix == ext for f in files)
                assert read_image(files[0]).shape[:2] == (16, 16)
    record = json.loads((folder / "SOURCE.json").read_text())
    assert record["sha256"] == sha(archive) and record["size"] == len(archive)
    assert record["layout"] == "sketchy" and record["file"] == "rendered_256x256.7z"


@pytest.fixture
def sketchy_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry entry as it would be with a stable URL, so the download path is tested with a .7z."""
    entry = DATASETS.get("sketchy")
    monkeypatch.setitem(DATASETS._entries, "sketchy", dataclasses.replace(entry, path=SKETCHY.lstrip("/")))


def test_sketchy_archive_installs_the_official_layout_that_i2i_data_sketchy_reads(tmp_path: Path, capsys) -> None:
    data = sketchy_7z()
    archive = tmp_path / "downloads" / "rendered_256x256.7z"
    archive.parent.mkdir()
    archive.write_bytes(data)
    to = tmp_path / "datasets"
    code, out, err = run_cli(capsys, "sketchy", "--to", str(to), "--archive", str(archive))
    assert code == 0, err
    assert_sketchy(to / "sketchy", data)
    assert f"i2i data sketchy {to / 'sketchy'} --out DIR" in out and sha(data) in out
    assert archive.read_bytes() == data and sorted(p.name for p in to.iterdir()) == ["sketchy"]
    # i2i data sketchy reads the installed folder as the official layout (only the non-augmented variant).
    pairs = tmp_path / "pairs"
    assert main(["data", "sketchy", str(to / "sketchy"), "--out", str(pairs), "--ratios", "0.5,0.5"]) == 0
    manifest = json.loads((pairs / "manifest.json").read_text())
    assert manifest["settings"]["layout"] == "official" and len(manifest["pairs"]) == 2 * 2 * 2
    assert {row["category"] for row in manifest["pairs"]} == set(CATEGORIES)
    assert all(f"/{VARIANT}/" in row["sketch"] for row in manifest["pairs"])
    # A rerun finds it; another archive needs --overwrite and then must match the recorded checksum.
    assert "already there" in run_cli(capsys, "sketchy", "--to", str(to), "--archive", str(archive))[1]
    other = tmp_path / "other.7z"
    other.write_bytes(sketchy_7z(seed=1))
    code, _, err = run_cli(capsys, "sketchy", "--to", str(to), "--archive", str(other), "--overwrite")
    line = one_line_error(err)
    assert code == 2 and f"expected sha256 {sha(data)}" in line and "nothing was installed" in line
    assert_sketchy(to / "sketchy", data)


def test_sketchy_without_an_archive_explains_where_to_get_it(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "sketchy", "--to", str(tmp_path))
    line = one_line_error(err)
    assert code == 2 and "http://sketchy.eye.gatech.edu/" in line
    assert f"--to {tmp_path} --archive PATH/rendered_256x256.7z" in line
    assert f"i2i data sketchy {tmp_path}/sketchy --out DIR" in line
    assert_nothing_installed(tmp_path, "sketchy")


@pytest.mark.parametrize(
    "top",
    ["256x256/", "rendered_256x256/256x256/", "sketchy/256x256/", ""],
    ids=["official", "in-a-folder", "named", "bare"],
)
def test_sketchy_archive_layouts_all_install_as_the_official_one(tmp_path: Path, top: str) -> None:
    """An archive of the 256x256 folder's contents ("bare") is put back into 256x256/."""
    data = sketchy_7z(top=top)
    archive = tmp_path / "rendered_256x256.7z"
    archive.write_bytes(data)
    result = download_dataset("sketchy", tmp_path / "d", archive=archive, progress=False)
    assert result.path == tmp_path / "d" / "sketchy"
    assert_sketchy(result.path, data)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["sketchy"]


def test_a_7z_download_resumes_with_a_range_request(server: Server, tmp_path: Path, monkeypatch, sketchy_served):
    data = sketchy_7z()
    assert len(data) > 2000
    server.files[SKETCHY], server.cut_after = data, 1000
    monkeypatch.setenv("I2I_DATASETS_URL", base(server))
    result = download_dataset("sketchy", tmp_path, progress=False)
    assert server.requests == [(SKETCHY, None), (SKETCHY, "bytes=1000-")]
    assert result.verified_by is None and json.loads((result.path / "SOURCE.json").read_text())["url"].endswith(SKETCHY)
    assert_sketchy(tmp_path / "sketchy", data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sketchy"]


def test_a_7z_download_offline_fails_fast_with_the_manual_route(tmp_path: Path, capsys, sketchy_served) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    code, _, err = run_cli(capsys, "sketchy", "--to", str(tmp_path), "--base-url", url, "--timeout", "0.5")
    line = one_line_error(err)
    assert code == 2 and f"cannot download sketchy from {url}{SKETCHY}" in line
    assert "--archive PATH/rendered_256x256.7z" in line and f"256x256/photo/{VARIANT}" in line
    assert_nothing_installed(tmp_path, "sketchy")


def _corrupt_middle(data: bytes) -> bytes:
    damaged = bytearray(data)
    for i in range(len(data) // 3, len(data) // 3 + 16):
        damaged[i] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize("route", ["download", "archive"])
@pytest.mark.parametrize(
    "damage",
    [lambda data: data[: len(data) * 2 // 3], lambda data: data[:40], _corrupt_middle],
    ids=["truncated", "truncated-header", "corrupted"],
)
def test_damaged_7z_is_one_line_and_leaves_nothing(
    server: Server, tmp_path: Path, capsys, sketchy_served, route, damage
):
    server.files[SKETCHY] = damage(sketchy_7z())
    to = tmp_path / "d"
    if route == "download":
        code, _, err = run_cli(capsys, "sketchy", "--to", str(to), "--base-url", base(server))
    else:
        archive = tmp_path / "rendered_256x256.7z"
        archive.write_bytes(server.files[SKETCHY])
        code, _, err = run_cli(capsys, "sketchy", "--to", str(to), "--archive", str(archive))
        assert archive.exists()  # the user's own file is kept
    line = one_line_error(err)
    assert code == 2 and "rendered_256x256.7z" in line and "is damaged and cannot be unpacked" in line
    assert "nothing was installed" in line and ("the download was deleted" in line) == (route == "download")
    assert_nothing_installed(to, "sketchy")


HOSTILE_7Z = {
    "dotdot": "256x256/../../evil.txt",
    "backslash-dotdot": "256x256\\..\\..\\evil.txt",
    "absolute": "{outside}/evil.txt",
    "drive": "C:/evil.txt",
}


@pytest.mark.parametrize("case", [*HOSTILE_7Z, "symlink"])
def test_unsafe_7z_members_are_refused(tmp_path: Path, capsys, case: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    archive = tmp_path / "rendered_256x256.7z"
    if case == "symlink":  # a real link member, as py7zr stores one from disk (pointing outside)
        link = tmp_path / "link"
        link.symlink_to(outside)
        with py7zr.SevenZipFile(archive, "w") as zf:
            zf.write(link, "256x256/photo/link")  # first: py7zr cannot write a link after a writestr member
            zf.writestr(b"x", f"256x256/photo/{VARIANT}/cat/n00.jpg")
        assert [i.is_symlink for i in py7zr.SevenZipFile(archive).list()] == [True, False]
        link.unlink()
    else:
        archive.write_bytes(sketchy_7z(extra=((HOSTILE_7Z[case].format(outside=outside), b"pwned"),)))
    to = tmp_path / "datasets"
    code, _, err = run_cli(capsys, "sketchy", "--to", str(to), "--archive", str(archive))
    line = one_line_error(err)
    assert code == 2 and "nothing was installed" in line
    expected = "holds a link '256x256/photo/link'" if case == "symlink" else "holds an unsafe path"
    assert expected in line, line
    assert_nothing_installed(to, "sketchy")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not list(tmp_path.rglob("evil.txt")) and archive.exists()


def test_7z_modes_are_tamed(tmp_path: Path) -> None:
    """World-writable files and unwritable folders from a 7z become ordinary (as tarfile's data filter does)."""
    src = tmp_path / "src" / "256x256"
    for kind in ("photo", "sketch"):
        (src / kind / VARIANT / "cat").mkdir(parents=True)
    (src / "photo" / VARIANT / "cat" / "n00.jpg").write_bytes(jpeg(np.random.default_rng(0)))
    (src / "photo" / VARIANT / "cat" / "n00.jpg").chmod(0o777)
    archive = tmp_path / "rendered_256x256.7z"
    with py7zr.SevenZipFile(archive, "w") as zf:
        zf.writeall(src, "256x256")
    (src / "sketch" / VARIANT / "cat").chmod(0o500)  # stored read-only in a second archive
    archive2 = tmp_path / "readonly.7z"
    with py7zr.SevenZipFile(archive2, "w") as zf:
        zf.writeall(src, "256x256")
    (src / "sketch" / VARIANT / "cat").chmod(0o755)
    for number, file in enumerate((archive, archive2)):
        folder = download_dataset("sketchy", tmp_path / f"d{number}", archive=file, progress=False).path
        photo = folder / "256x256" / "photo" / VARIANT / "cat" / "n00.jpg"
        assert photo.stat().st_mode & 0o7777 == 0o755
        assert (folder / "256x256" / "sketch" / VARIANT / "cat").stat().st_mode & 0o700 == 0o700


def test_7z_without_the_sketchy_folders_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "rendered_256x256.7z"
    with py7zr.SevenZipFile(archive, "w") as zf:
        zf.writestr(b"x", f"256x256/photo/{VARIANT}/cat/n00.jpg")
    match = f"does not hold the sketchy dataset: expected the folders 256x256/photo/{VARIANT}, 256x256/sketch/"
    with pytest.raises(Exception, match=re.escape(match)):
        download_dataset("sketchy", tmp_path / "d", archive=archive, progress=False)
    assert_nothing_installed(tmp_path / "d", "sketchy")


@pytest.mark.parametrize("header_encryption", [False, True])
def test_password_protected_7z_is_one_line(tmp_path: Path, capsys, header_encryption: bool) -> None:
    archive = tmp_path / "rendered_256x256.7z"
    with py7zr.SevenZipFile(archive, "w", password="secret", header_encryption=header_encryption) as zf:
        zf.writestr(b"x" * 100, f"256x256/photo/{VARIANT}/cat/n00.jpg")
    code, _, err = run_cli(capsys, "sketchy", "--to", str(tmp_path / "d"), "--archive", str(archive))
    line = one_line_error(err)
    assert code == 2 and "rendered_256x256.7z is password-protected" in line and "nothing was installed" in line
    assert_nothing_installed(tmp_path / "d", "sketchy")
