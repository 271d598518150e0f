"""Tests for i2i.datatools.download against a real HTTP server on 127.0.0.1 serving tiny real archives."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from helpers import write_aligned
from PIL import Image

from i2i.cli import main
from i2i.data.paired import list_pairs
from i2i.datatools.download import DATASETS, download_dataset
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
        (lambda data: b"<html>Not Found</html>" * 50, "is neither a zip nor a tar archive"),
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
        "horse2zebra", "apple2orange", "summer2winter_yosemite", "selfie2anime",
    }  # fmt: skip
    assert set(DATASETS.names()) == expected
    for name in expected:
        source = DATASETS.get(name)
        assert source.layout in ("aligned", "unpaired") and source.note and len(source.sides) == 2
        assert source.sha256 is None or len(source.sha256) == 64
        if source.layout == "aligned":
            assert source.path == f"pix2pix/datasets/{name}.tar.gz" and "train" in source.folders
        elif source.path is not None:
            assert source.path == f"cyclegan/datasets/{name}.zip" and source.folders == UNPAIRED
    assert DATASETS.get("selfie2anime").path is None and DATASETS.get("selfie2anime").manual
    assert "registering with its owners" in DATASETS.get("cityscapes").note
