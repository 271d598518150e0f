"""``i2i data download``: the standard public datasets, fetched resumably, checked and unpacked into i2i's layouts.

Steps, each safe to interrupt:
1. download to ``DIR/.partial/<file>.part`` with HTTP Range requests (a rerun or a retry resumes from the bytes
   already there; a server that ignores Range is restarted from zero);
2. verify the sha256 against a known checksum (the registry's, ``--sha256``, or the one recorded in
   ``DIR/NAME/SOURCE.json`` by an earlier download: trust on first use);
3. extract (tar, zip or 7z) into a temp folder under ``DIR/.partial/`` (absolute paths, ``..``, links leading
   outside and special files are refused; 7z archives may hold no links at all), check the expected folders, write
   ``SOURCE.json`` and rename the folder to ``DIR/NAME``.

Layouts (see ``i2i.layouts``): ``aligned`` is ``NAME/<split>/*.jpg`` with A|B side by side (pix2pix's own
archives); ``unpaired`` is ``NAME/trainA``, ``trainB``, ``testA``, ``testB`` (CycleGAN's own archives); ``sketchy``
is the Sketchy database's own ``NAME/256x256/{photo,sketch}/tx_*/<category>/`` (its authors' ``rendered_256x256.7z``),
which ``i2i data sketchy NAME`` turns into sketch → photo pairs.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import logging
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from i2i.atomic import atomic_write
from i2i.errors import I2IError
from i2i.registry import Registry

log = logging.getLogger(__name__)

DEFAULT_SERVER = "http://efrosgans.eecs.berkeley.edu"  # the pix2pix/CycleGAN authors' server (their own scripts)
SERVER_ENV = "I2I_DATASETS_URL"
_ATTEMPTS = 5  # connections per download; each one resumes where the last one stopped
_CHUNK = 1 << 16


class DownloadError(I2IError):
    """A dataset cannot be downloaded, verified or unpacked; the message says what to do instead."""


@dataclass(frozen=True)
class DatasetSource:
    """Where a public dataset comes from and what it must look like once unpacked.

    Args:
        name: the registry name, also the folder created under ``--to``.
        layout: ``aligned`` (A|B files in ``<split>/``), ``unpaired`` (``trainA``, ``trainB``, ``testA``, ``testB``)
            or ``sketchy`` (the Sketchy database's own folders, read by ``i2i data sketchy``).
        folders: folders the unpacked dataset must hold, relative to ``NAME/`` (others that come with the archive are
            kept). When they all lie in one folder (``256x256/...``), an archive of that folder's contents is put
            back into it.
        sides: what the A and B images show.
        note: source and licence, printed before downloading and kept in SOURCE.json.
        path: the archive's path on the server (``--base-url`` replaces the server); None when there is no public one.
        sha256: the archive's checksum, enforced when known.
        size: the archive's size in bytes, enforced when known.
        manual: how to get the dataset by hand when ``path`` is None (``{to}`` is filled in).
        file_name: the archive's file name when ``path`` is None (default ``NAME.zip``).
    """

    name: str
    layout: str
    folders: tuple[str, ...]
    sides: tuple[str, str]
    note: str
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    manual: str = ""
    file_name: str = ""

    @property
    def file(self) -> str:
        return posixpath.basename(self.path) if self.path else (self.file_name or f"{self.name}.zip")

    def url(self, server: str) -> str:
        return f"{server.rstrip('/')}/{self.path}"


DATASETS: Registry[DatasetSource] = Registry("dataset")

_PAIRED = ("train", "val")
_UNPAIRED = ("trainA", "trainB", "testA", "testB")
SKETCHY_VARIANT = "tx_000000000000"  # the non-augmented photos and sketches, what `i2i data sketchy` reads
# No checksums or sizes yet: the archives could not be fetched when this list was written (see the module
# docstring); add a sha256 here once one has been computed from a trusted download, and it is enforced.
_SOURCES = [
    DatasetSource(
        "facades", "aligned", ("train", "val", "test"), ("photo", "label map"),
        "CMP Facade Database (Tylecek & Sara, 2013) as prepared by the pix2pix authors; labels → photo is BtoA",
        "pix2pix/datasets/facades.tar.gz",
    ),
    DatasetSource(
        "cityscapes", "aligned", _PAIRED, ("photo", "label map"),
        "Cityscapes (Cordts et al., 2016) as prepared by the pix2pix authors; Cityscapes' licence requires "
        "registering with its owners (https://www.cityscapes-dataset.com) and allows non-commercial use only, "
        "so register and accept its terms before using it; labels → photo is BtoA",
        "pix2pix/datasets/cityscapes.tar.gz",
    ),
    DatasetSource(
        "maps", "aligned", _PAIRED, ("aerial photo", "map"),
        "Google Maps tiles around New York City collected by the pix2pix authors; Google's terms apply",
        "pix2pix/datasets/maps.tar.gz",
    ),
    DatasetSource(
        "edges2shoes", "aligned", _PAIRED, ("edges", "photo"),
        "UT Zappos50K (Yu & Grauman, 2014) with HED edges, by the pix2pix authors",
        "pix2pix/datasets/edges2shoes.tar.gz",
    ),
    DatasetSource(
        "edges2handbags", "aligned", _PAIRED, ("edges", "photo"),
        "Amazon handbag photos from iGAN (Zhu et al., 2016) with HED edges, by the pix2pix authors",
        "pix2pix/datasets/edges2handbags.tar.gz",
    ),
    DatasetSource(
        "night2day", "aligned", _PAIRED, ("night", "day"),
        "Transient Attributes database (Laffont et al., 2014) as prepared by the pix2pix authors",
        "pix2pix/datasets/night2day.tar.gz",
    ),
    DatasetSource(
        "horse2zebra", "unpaired", _UNPAIRED, ("horse", "zebra"),
        "ImageNet photos selected by the CycleGAN authors; ImageNet's terms (non-commercial research) apply",
        "cyclegan/datasets/horse2zebra.zip",
    ),
    DatasetSource(
        "apple2orange", "unpaired", _UNPAIRED, ("apple", "orange"),
        "ImageNet photos selected by the CycleGAN authors; ImageNet's terms (non-commercial research) apply",
        "cyclegan/datasets/apple2orange.zip",
    ),
    DatasetSource(
        "summer2winter_yosemite", "unpaired", _UNPAIRED, ("summer", "winter"),
        "Flickr photos of Yosemite collected by the CycleGAN authors; each photo's Flickr licence applies",
        "cyclegan/datasets/summer2winter_yosemite.zip",
    ),
    DatasetSource(
        "selfie2anime", "unpaired", _UNPAIRED, ("selfie", "anime face"),
        "selfie photos and anime faces collected by the U-GAT-IT authors (Kim et al., 2020)",
        manual="selfie2anime has no stable public archive: the U-GAT-IT authors share selfie2anime.zip on a "
        "file-sharing drive linked from https://github.com/taki0112/UGATIT; download it by hand and run "
        "`i2i data download selfie2anime --to {to} --archive PATH/selfie2anime.zip` (or unpack it yourself so "
        "that {to}/selfie2anime/ holds trainA, trainB, testA and testB)",
    ),
    DatasetSource(
        "sketchy", "sketchy", (f"256x256/photo/{SKETCHY_VARIANT}", f"256x256/sketch/{SKETCHY_VARIANT}"),
        ("sketch", "photo"),
        "the Sketchy Database (Sangkloy, Burnell, Ham & Hays, SIGGRAPH 2016), distributed by its authors for "
        "research; its photos are ImageNet images (research and education use only); make sketch → photo pairs "
        "from it with `i2i data sketchy`",
        manual="sketchy has no stable direct download: its authors share rendered_256x256.7z through a "
        "file-sharing drive linked from the Sketchy site http://sketchy.eye.gatech.edu/; download it by hand and run "
        "`i2i data download sketchy --to {to} --archive PATH/rendered_256x256.7z` (or unpack it yourself so that "
        f"{{to}}/sketchy/ holds 256x256/photo/{SKETCHY_VARIANT} and 256x256/sketch/{SKETCHY_VARIANT}), then "
        "`i2i data sketchy {to}/sketchy --out DIR`",
        file_name="rendered_256x256.7z",
    ),
]  # fmt: skip
for _source in _SOURCES:
    DATASETS.register(_source.name)(_source)


@dataclass(frozen=True)
class DownloadResult:
    """What ``download_dataset`` did: the dataset folder, the archive's sha256 and what it was checked against."""

    path: Path
    sha256: str | None
    verified_by: str | None
    already_there: bool = False


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _holds(folder: Path, folders: Sequence[str]) -> bool:
    return all((folder / f).is_dir() for f in folders)


def _is_complete(folder: Path, source: DatasetSource) -> bool:
    return _holds(folder, source.folders)


def _manual_hint(source: DatasetSource, to: Path) -> str:
    return (
        f"download it by hand and run `i2i data download {source.name} --to {to} --archive PATH/{source.file}` "
        f"(or unpack it yourself so that {to / source.name}/ holds {', '.join(source.folders)})"
    )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _expected_sha256(source: DatasetSource, sha256: str | None, folder: Path) -> tuple[str | None, str | None]:
    """The checksum to enforce and where it comes from: --sha256, the registry, or an earlier SOURCE.json."""
    if sha256:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise DownloadError(f"--sha256 must be 64 hexadecimal digits, got {sha256!r}")
        return sha256.lower(), "--sha256"
    if source.sha256:
        return source.sha256, "the registry"
    try:
        recorded = json.loads((folder / "SOURCE.json").read_text())
    except (OSError, ValueError):
        return None, None
    if isinstance(recorded, dict) and recorded.get("file") == source.file and recorded.get("sha256"):
        return recorded["sha256"], f"{folder / 'SOURCE.json'} (recorded on first download)"
    return None, None


# Download ---------------------------------------------------------------------


class _Interrupted(Exception):
    """The connection broke after it had started; the partial file is kept and the next attempt resumes."""


class _Unreachable(Exception):
    """No usable answer from the server (DNS, refused, timeout, HTTP error)."""


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a ``Content-Range: bytes a-b/n`` or ``bytes */n`` header."""
    match = re.fullmatch(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", (header or "").strip())
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total != "*" else None)


def _fetch_once(url: str, part: Path, timeout: float, progress: bool, intro: str = "") -> None:
    """One connection: resumes ``part`` from its current size. Raises _Interrupted or _Unreachable.

    ``intro`` is logged once the server has answered, so that an offline run prints nothing but its error.
    """
    from tqdm.auto import tqdm

    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "i2i-data-download"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not offset:
            raise _Unreachable(f"HTTP {exc.code} {exc.reason}") from None
        # Range not satisfiable: the file is already whole (a run stopped before verifying), or it is larger than
        # what the server has now (a different file): then start over.
        if _content_range(exc.headers.get("Content-Range"))[1] == offset:
            return
        log.info("%s: the partial file does not match the server's file; starting over", part.name)
        part.unlink()
        raise _Interrupted("partial file discarded") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise _Unreachable(f"no answer within {timeout:g} s" if isinstance(reason, TimeoutError) else reason) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Unreachable(f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else exc) from None
    if intro:
        log.info("%s", intro)
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        start, total = _content_range(response.headers.get("Content-Range"))
        if response.status == 206 and start == offset:
            mode = "ab"
        elif response.status == 206:  # a range we did not ask for: appending it would corrupt the file
            part.unlink()
            raise _Interrupted(f"the server answered from byte {start} instead of {offset}; starting over")
        else:
            if offset:
                log.info("%s: the server does not resume downloads; starting over", part.name)
            offset, mode, total = 0, "wb", length
        with (
            part.open(mode) as f,
            tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=part.name[:-5],
                disable=None if progress else True, leave=False,
            ) as bar,
        ):  # fmt: skip
            while True:
                try:
                    block = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:  # reset, timeout mid-transfer, bad chunking
                    raise _Interrupted(_one_line(exc) or type(exc).__name__) from None
                if not block:
                    break
                f.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:  # http.client returns b"" when a connection closes early
        raise _Interrupted(f"connection closed after {size} of {total} bytes")


def _fetch(source: DatasetSource, url: str, part: Path, to: Path, timeout: float, progress: bool) -> None:
    """Downloads ``url`` into ``part``, resuming after broken connections (up to _ATTEMPTS connections)."""
    part.parent.mkdir(parents=True, exist_ok=True)
    if source.size is not None and part.exists() and part.stat().st_size > source.size:
        part.unlink()
    for attempt in range(1, _ATTEMPTS + 1):
        if source.size is not None and part.exists() and part.stat().st_size == source.size:
            return
        try:
            intro = f"{source.name}: {source.note}\ndownloading {url} (resumable; partial data in {part.parent})"
            _fetch_once(url, part, timeout, progress, intro if attempt == 1 else "")
            return
        except _Unreachable as exc:
            kept = part.stat().st_size if part.exists() else 0
            keep = f"; the {kept} bytes downloaded so far are kept in {part} and a rerun resumes" if kept else ""
            raise DownloadError(
                f"cannot download {source.name} from {url}: {_one_line(exc)}{keep}; {_manual_hint(source, to)}"
            ) from None
        except _Interrupted as exc:
            if attempt == _ATTEMPTS:
                raise DownloadError(
                    f"download of {url} broke off {attempt} times ({exc}); the partial file {part} is kept: "
                    "run the same command again to resume"
                ) from None
            log.info("%s: %s; resuming (attempt %d of %d)", source.file, exc, attempt + 1, _ATTEMPTS)
            time.sleep(min(attempt, 5) * 0.5)


# Extraction -------------------------------------------------------------------


def _check_name(name: str, archive: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
        raise DownloadError(f"{archive} holds an unsafe path {name!r} (absolute or leading outside its folder)")


def _check_tar_member(member: tarfile.TarInfo, dest: str, archive: str) -> None:
    """Refuses members that would land outside ``dest`` (``dest`` is a realpath), also through links on disk."""
    _check_name(member.name, archive)
    path = os.path.join(dest, member.name)
    if os.path.commonpath([dest, os.path.realpath(path)]) != dest:
        raise DownloadError(f"{archive} writes {member.name!r} through a link leading outside its folder")
    if member.issym() or member.islnk():
        # A symlink is relative to its own folder, a hard link to the archive's root.
        base = os.path.dirname(path) if member.issym() else dest
        target = os.path.realpath(os.path.join(base, member.linkname))
        if os.path.isabs(member.linkname) or os.path.commonpath([dest, target]) != dest:
            raise DownloadError(f"{archive} holds a link {member.name!r} -> {member.linkname!r} leading outside")
    elif not (member.isfile() or member.isdir()):
        raise DownloadError(f"{archive} holds a device or special file {member.name!r}")


_FILTER_ERRORS = getattr(tarfile, "FilterError", ())  # Python 3.10.12+, 3.11.4+
_7Z_MAGIC = b"7z\xbc\xaf\x27\x1c"


def _is_7z(archive: Path) -> bool:
    with archive.open("rb") as f:
        return f.read(len(_7Z_MAGIC)) == _7Z_MAGIC


def _tame_modes(root: str) -> None:
    """What tarfile's data filter does to modes, for 7z: no setuid/setgid/sticky bits, no group or world write,
    and the owner may read and write (and enter folders), so nothing unpacked is hostile or undeletable."""
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue
            wanted = (mode & 0o755) | (0o700 if stat.S_ISDIR(mode) else 0o600)
            if stat.S_IMODE(mode) != wanted:
                os.chmod(path, wanted)  # top-down: a folder is fixed before os.walk lists it


def _extract_7z(archive: Path, root: str, label: str) -> None:
    """Unpacks a 7z archive with py7zr after checking every member: regular files and folders only, no links."""
    import py7zr  # lazily: only 7z archives need it

    try:
        with py7zr.SevenZipFile(archive, mode="r") as zf:
            if zf.needs_password():
                raise DownloadError(f"{label} is password-protected; unpack it yourself and install the folder")
            for info in zf.list():
                _check_name(info.filename, label)
                if info.is_symlink:
                    raise DownloadError(f"{label} holds a link {info.filename!r} (7z archives may hold no links)")
                if not (info.is_file or info.is_directory):
                    raise DownloadError(f"{label} holds a device or special file {info.filename!r}")
                path = os.path.realpath(os.path.join(root, info.filename))
                if os.path.commonpath([root, path]) != root:
                    raise DownloadError(f"{label} writes {info.filename!r} through a link leading outside its folder")
            zf.extractall(path=root)
    except py7zr.exceptions.CrcError as exc:
        raise DownloadError(f"{label} is damaged and cannot be unpacked (CRC error in {exc.filename})") from None
    except py7zr.exceptions.PasswordRequired:
        raise DownloadError(f"{label} is password-protected; unpack it yourself and install the folder") from None
    except (py7zr.exceptions.ArchiveError, ValueError) as exc:  # ValueError: contradictory member attributes
        reason = _one_line(exc) or type(exc).__name__
        raise DownloadError(f"{label} is damaged and cannot be unpacked ({reason})") from None
    _tame_modes(root)


def extract_archive(archive: Path, dest: Path) -> None:
    """Unpacks a tar (any compression), zip or 7z archive into the existing folder ``dest``, refusing unsafe members.

    Every member is checked before it is written: no absolute paths or ``..``, no links leading outside (resolved
    on disk, so chains of links are caught), no devices or FIFOs; 7z archives (unpacked with py7zr) may hold no
    links at all, and their modes are tamed afterwards. Tar archives also go through tarfile's ``data`` filter
    where Python has it (3.10.12+, 3.11.4+). Raises DownloadError for an unsafe or damaged archive, which may
    leave part of it in ``dest``.
    """
    label = archive.name
    root = os.path.realpath(dest)
    try:
        if _is_7z(archive):
            _extract_7z(archive, root, label)
        elif zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_name(info.filename, label)
                    zf.extract(info, root)  # zip symlinks are written as small files, never followed
        elif tarfile.is_tarfile(archive):
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    _check_tar_member(member, root, label)
                    if not safe:
                        member.mode &= 0o755  # no setuid bits or world-writable files without the data filter
                    tar.extract(member, root, **safe)
        else:
            raise DownloadError(f"{label} is neither a zip, a tar nor a 7z archive (damaged, or not the dataset)")
    except _FILTER_ERRORS as exc:  # the data filter caught what the checks above let through
        raise DownloadError(f"{label} holds an unsafe member ({_one_line(exc)})") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise DownloadError(f"{label} is damaged and cannot be unpacked ({_one_line(exc)})") from None
    except OSError as exc:
        if exc.errno is not None:  # disk full, permission denied: the archive is not to blame
            raise
        raise DownloadError(f"{label} is damaged and cannot be unpacked ({_one_line(exc)})") from None


def _dataset_root(tmp: Path, source: DatasetSource, label: str) -> Path:
    """The unpacked folder with ``source.folders``: ``NAME/`` (the authors' archives), the top, or its only folder.

    When the folders all lie in one folder (Sketchy's ``256x256/``) and the archive holds that folder's contents
    instead, they are moved back into it, beside ``tmp``, and the folder above is returned.
    """
    tops = [p for p in tmp.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))]
    candidates = [tmp / source.name, tmp] + (tops if len(tops) == 1 else [])
    candidates = [folder for folder in candidates if folder.is_dir() and not folder.is_symlink()]
    for folder in candidates:
        if _is_complete(folder, source):
            return folder
    leads = {f.split("/", 1)[0] for f in source.folders}
    if len(leads) == 1 and all("/" in f for f in source.folders):
        lead = leads.pop()
        inner = [f.split("/", 1)[1] for f in source.folders]
        for folder in candidates:
            if _holds(folder, inner):
                wrapped = tmp.parent / f"{tmp.name}.wrapped"
                wrapped.mkdir()
                os.replace(folder, wrapped / lead)
                return wrapped
    found = ", ".join(sorted(p.name for p in tmp.iterdir())[:10]) or "nothing"
    raise DownloadError(
        f"{label} does not hold the {source.name} dataset: expected the folders {', '.join(source.folders)} "
        f"(at its top or in {source.name}/), found {found}"
    )


def _install(archive: Path, source: DatasetSource, final: Path, record: dict) -> None:
    """Unpacks ``archive`` beside ``final``, writes SOURCE.json and renames the result into place."""
    work = final.parent / ".partial"
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{source.name}.extract-", dir=work))
    unpacked = tmp / "unpacked"  # made by mkdir, so it gets ordinary permissions (mkdtemp's folder is private)
    unpacked.mkdir()
    old = None
    try:
        extract_archive(archive, unpacked)
        root = _dataset_root(unpacked, source, archive.name)
        atomic_write(root / "SOURCE.json", (json.dumps(record, indent=2) + "\n").encode())
        if final.exists() or final.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f"{source.name}.old-", dir=work))
            os.replace(final, old / source.name)
        os.replace(root, final)
    finally:
        if old is not None and not (final.exists() or final.is_symlink()):
            os.replace(old / source.name, final)  # interrupted between the two renames: put the old one back
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# Entry points -----------------------------------------------------------------


def download_dataset(
    name: str,
    to: str | Path,
    *,
    archive: str | Path | None = None,
    sha256: str | None = None,
    base_url: str | None = None,
    timeout: float = 10.0,
    overwrite: bool = False,
    progress: bool = True,
) -> DownloadResult:
    """Downloads (or takes from ``archive``) dataset ``name``, verifies it and unpacks it into ``to/name``.

    Args:
        name: a registered dataset (``DATASETS.names()``).
        to: the datasets folder; the dataset lands in ``to/name`` and partial downloads in ``to/.partial``.
        archive: a manually downloaded archive to install instead of downloading (it is left in place).
        sha256: a checksum to enforce (overrides the registry's and the one recorded by an earlier download).
        base_url: the server to download from instead of the authors' (default: ``$I2I_DATASETS_URL`` or theirs).
        timeout: seconds to wait for the server to connect or send more data.
        overwrite: replace an existing ``to/name``.
        progress: show a progress bar (only on a terminal).
    """
    source = DATASETS.get(name)
    to = Path(to)
    final = to / source.name
    if _is_complete(final, source) and not overwrite:
        return DownloadResult(final, None, None, already_there=True)
    if (final.exists() or final.is_symlink()) and not overwrite:
        raise DownloadError(
            f"{final} exists but does not hold {', '.join(source.folders)}; pass --overwrite to replace it"
        )
    expected, verified_by = _expected_sha256(source, sha256, final)
    record = {
        "name": source.name,
        "layout": source.layout,
        "A": source.sides[0],
        "B": source.sides[1],
        "note": source.note,
        "file": source.file,
    }
    try:
        file, downloaded = _obtain(source, to, archive, base_url, timeout, progress, record)
        try:
            actual = _verify(file, source, expected, verified_by)
            record |= {"sha256": actual, "sha256_checked_against": verified_by, "size": file.stat().st_size}
            record["installed_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            _install(file, source, final, record)
            if downloaded:
                file.unlink()
        except DownloadError as exc:
            if not downloaded:
                raise DownloadError(f"{exc}; nothing was installed") from None
            # A damaged, hostile or mismatched download is useless: delete it so the next run fetches it afresh.
            file.unlink(missing_ok=True)
            raise DownloadError(f"{exc}; the download was deleted and nothing was installed") from None
    finally:
        try:
            (to / ".partial").rmdir()
        except OSError:
            pass  # absent, or not empty: partial downloads are kept there for the next run
    if verified_by is None:
        log.info(
            "no known checksum for %s: its sha256 is recorded in %s (trust on first use: a later download must "
            "match it; --sha256 enforces one)", source.file, final / "SOURCE.json",
        )  # fmt: skip
    return DownloadResult(final, actual, verified_by)


def _obtain(
    source: DatasetSource,
    to: Path,
    archive: str | Path | None,
    base_url: str | None,
    timeout: float,
    progress: bool,
    record: dict,
) -> tuple[Path, bool]:
    """The archive to install and whether it was downloaded (a user's ``archive`` is never deleted)."""
    if archive is not None:
        file = Path(archive)
        if not file.is_file():
            raise DownloadError(f"--archive {file}: no such file")
        record["archive"] = str(file.resolve())
        log.info("%s: %s", source.name, source.note)
        return file, False
    if source.path is None:
        raise DownloadError(source.manual.format(to=to))
    server = base_url or os.environ.get(SERVER_ENV) or DEFAULT_SERVER
    if urllib.parse.urlsplit(server).scheme not in ("http", "https"):
        raise DownloadError(f"the dataset server must be an http:// or https:// address, got {server!r}")
    record["url"] = source.url(server)
    part = to / ".partial" / f"{source.file}.part"
    _fetch(source, record["url"], part, to, timeout, progress)
    return part, True


def _verify(file: Path, source: DatasetSource, expected: str | None, verified_by: str | None) -> str:
    """Checks the size and sha256 of ``file`` where known and returns its sha256."""
    size = file.stat().st_size
    if source.size is not None and size != source.size:
        raise DownloadError(f"{source.file} has {size} bytes, expected {source.size}")
    actual = _sha256_of(file)
    if expected is not None and actual != expected:
        trust = f" (pass --sha256 {actual} if you trust this file)" if verified_by != "the registry" else ""
        raise DownloadError(
            f"checksum mismatch for {source.file}: expected sha256 {expected} from {verified_by}, got {actual}{trust}"
        )
    return actual


_EPILOG = """datasets:
{table}

Downloads resume: a broken connection is retried, and a rerun continues from DIR/.partial/.
Checksums: the authors publish none for these archives and none could be computed when this list was written,
so unless one is known the sha256 of what was downloaded is printed and recorded in DIR/NAME/SOURCE.json
(trust on first use: a later --overwrite download must match it). --sha256 HEX enforces a checksum you trust;
a known checksum is always enforced.
Offline: the error names the URL; download it by hand and install it with --archive PATH.
Archives: tar (any compression), zip and 7z (unpacked with py7zr); unsafe members are refused.
Sketchy: the authors share rendered_256x256.7z from http://sketchy.eye.gatech.edu/ (no stable direct URL);
install it with --archive PATH/rendered_256x256.7z, then make pairs with `i2i data sketchy DIR/sketchy`.
"""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def command(argv: Sequence[str]) -> int:
    table = "\n".join(
        f"  {s.name:<24}{s.layout:<10}A = {s.sides[0]}, B = {s.sides[1]}"
        + ("" if s.path else "  (no stable direct URL: --archive only)")
        for s in (DATASETS.get(n) for n in DATASETS.names())
    )
    parser = argparse.ArgumentParser(
        prog="i2i data download",
        description="Download a standard public dataset into i2i's layout: resumable, checksummed,\n"
        "unpacked safely and renamed into DIR/NAME in one step.",
        epilog=_EPILOG.format(table=table),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="dataset name (listed below)")
    parser.add_argument("--to", required=True, metavar="DIR", help="datasets folder; the dataset lands in DIR/NAME")
    parser.add_argument("--archive", metavar="PATH", help="install from a manually downloaded archive instead")
    parser.add_argument("--sha256", metavar="HEX", help="enforce this sha256 for the archive")
    parser.add_argument(
        "--base-url", metavar="URL", help=f"server to download from (default: ${SERVER_ENV} or {DEFAULT_SERVER})"
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        default=10.0,
        help="seconds to wait for the server to connect or send (default 10)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing DIR/NAME")
    args = parser.parse_args(argv)
    result = download_dataset(
        args.name,
        args.to,
        archive=args.archive,
        sha256=args.sha256,
        base_url=args.base_url,
        timeout=args.timeout,
        overwrite=args.overwrite,
    )
    if result.already_there:
        print(f"{args.name} is already there: {result.path} (pass --overwrite to download it again)")
        return 0
    source = DATASETS.get(args.name)
    checked = f"verified against {result.verified_by}" if result.verified_by else "recorded in SOURCE.json"
    print(f"{source.name} ready in {result.path} ({source.layout}; A = {source.sides[0]}, B = {source.sides[1]})")
    print(f"sha256 {result.sha256} ({checked})")
    if source.layout == "sketchy":
        print(f"make sketch → photo pairs with: i2i data sketchy {result.path} --out DIR")
    return 0
