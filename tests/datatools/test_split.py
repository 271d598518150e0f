"""Tests for i2i.datatools.split: counts, determinism, both layouts, both modes, refusals and recovery of a move.

Also that ``i2i data split`` and ``i2i data pairs`` split the same names the same way (``i2i.splits``)."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i import splits
from i2i.cli import main
from i2i.data.paired import list_pairs
from i2i.datatools.split import PLAN_FILE, plan_split, split_dataset
from i2i.errors import ConfigError, DatasetError, I2IError
from i2i.layouts import detect_layout
from i2i.splits import SPLIT_NAMES, parse_ratios, split_counts


def assign_splits(keys: list[str], ratios: tuple[float, ...], seed: int) -> dict[str, list[str]]:
    """``i2i.splits.split_of`` grouped by split name, in the input order."""
    names = splits.split_of(keys, ratios, seed)
    return {split: [k for k, s in zip(keys, names, strict=True) if s == split] for split in SPLIT_NAMES[: len(ratios)]}


def write_image_file(path: Path, seed: int, size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, 2 * size, 3), dtype=np.uint8)).save(path)
    return path


def write_unsplit_aligned(root: Path, names: list[str]) -> Path:
    """A|B files directly in ``root``, each with distinct pixels."""
    for i, name in enumerate(names):
        write_image_file(root / name, seed=i)
    return root


def write_unsplit_folders(root: Path, stems: list[str]) -> Path:
    """root/A/<stem>.png + root/B/<stem>.png."""
    for i, stem in enumerate(stems):
        write_image_file(root / "A" / f"{stem}.png", seed=i)
        write_image_file(root / "B" / f"{stem}.png", seed=1000 + i)
    return root


def contents(root: Path) -> dict[str, str]:
    """Every image file under ``root``: relative path → SHA-256 of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.png"))
        if p.is_file()  # never read a FIFO named like an image: it would block
    }


def by_name(files: dict[str, str], prefix: str = "") -> dict[str, str]:
    """File name → content hash for the files under ``prefix``, checking that no name occurs twice."""
    names = [path.rsplit("/", 1)[-1] for path in files if path.startswith(prefix)]
    assert len(names) == len(set(names)), "a file was duplicated"
    return {path.rsplit("/", 1)[-1]: digest for path, digest in files.items() if path.startswith(prefix)}


def split_of(root: Path, folder: str = "") -> dict[str, set[str]]:
    """Split name → file names in ``root/<folder>/<split>``."""
    base = root / folder if folder else root
    return {p.name: {f.name for f in p.iterdir()} for p in sorted(base.iterdir()) if p.is_dir() and p.name != "A"}


NAMES = [f"img_{i:02d}.png" for i in range(20)]


# --- counts and ratios ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "ratios", "expected"),
    [
        (10, (0.8, 0.2), [8, 2]),
        (7, (0.8, 0.2), [6, 1]),  # 1.4 → 1
        (3, (0.8, 0.2), [2, 1]),  # 0.6 → 1
        (25, (0.8, 0.1, 0.1), [19, 3, 3]),  # 2.5 → 3 (half up)
        (100, (0.7, 0.2, 0.1), [70, 20, 10]),
        (2, (0.8, 0.2), [2, 0]),
    ],
)
def test_split_counts_rounding_rule(n: int, ratios: tuple[float, ...], expected: list[int]) -> None:
    """val and test get their share rounded half up, train the rest; the counts always sum to n."""
    assert split_counts(n, ratios) == expected
    assert sum(expected) == n


def test_parse_ratios_normalizes() -> None:
    assert parse_ratios("8,2") == pytest.approx((0.8, 0.2))
    assert parse_ratios("0.8,0.2") == pytest.approx((0.8, 0.2))
    assert parse_ratios("0.8, 0.1, 0.1") == pytest.approx((0.8, 0.1, 0.1))
    assert parse_ratios("0.8,0.2,0.1") == pytest.approx((0.8 / 1.1, 0.2 / 1.1, 0.1 / 1.1))
    assert parse_ratios("1,0") == (1.0, 0.0)  # a zero part parses; data split then refuses the empty split


@pytest.mark.parametrize("text", ["0.8", "a,b", "0,1", "1,-1", "1,2,3,4", "nan,1", "inf,1", "", "0.8,,0.2"])
def test_bad_ratios_are_one_line_errors(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad --ratios: a ConfigError from parse_ratios, and one 'i2i: error: ratios: ...' line with exit 2."""
    with pytest.raises(ConfigError, match="^ratios: "):
        parse_ratios(text)
    write_unsplit_aligned(tmp_path, NAMES[:4])
    assert main(["data", "split", str(tmp_path), "--ratios", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i: error: ratios: ") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == NAMES[:4]


@pytest.mark.parametrize("text", ["1,0", "0.8,0.2,0", "8,0,2"])
def test_a_zero_share_is_refused_as_an_empty_split(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zero part parses, but data split makes no empty split: one line, exit 2, nothing moved."""
    write_unsplit_aligned(tmp_path, NAMES[:10])
    assert main(["data", "split", str(tmp_path), "--ratios", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i: error: ratios ") and "no share" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == NAMES[:10]


def test_a_split_left_empty_is_refused(tmp_path: Path) -> None:
    """2 pairs at 0.8,0.2 would leave val empty: refused, nothing moved."""
    write_unsplit_aligned(tmp_path, NAMES[:2])
    with pytest.raises(DatasetError, match="leave split 'val' empty"):
        split_dataset(tmp_path, (0.8, 0.2))
    assert sorted(p.name for p in tmp_path.iterdir()) == NAMES[:2]


# --- determinism ---------------------------------------------------------------------------------------------------


def test_assignment_ignores_listing_order_and_depends_on_seed() -> None:
    """The same names in any order give the same split (each split keeps the input order); another seed, another."""
    names = [f"n{i}" for i in range(50)]
    first = assign_splits(names, (0.8, 0.2), seed=0)
    shuffled = names[:]
    random.Random(1).shuffle(shuffled)
    again = assign_splits(shuffled, (0.8, 0.2), seed=0)
    assert {s: set(v) for s, v in again.items()} == {s: set(v) for s, v in first.items()}
    assert again["train"] == [n for n in shuffled if n in set(first["train"])]
    assert [len(v) for v in first.values()] == [40, 10]
    assert assign_splits(names, (0.8, 0.2), seed=1)["val"] != first["val"]


def test_adding_files_moves_few_existing_ones() -> None:
    """Names are ranked by a seeded hash, so adding 1 name moves at most 2 existing ones (one per cut)."""
    names = [f"n{i}" for i in range(200)]
    before = assign_splits(names, (0.8, 0.1, 0.1), seed=3)
    after = assign_splits([*names, "new"], (0.8, 0.1, 0.1), seed=3)
    where = {n: s for s, members in before.items() for n in members}
    moved = [n for s, members in after.items() for n in members if n != "new" and where[n] != s]
    assert len(moved) <= 2


def test_same_seed_same_split_on_disk(tmp_path: Path) -> None:
    """Two copies of a dataset, files created in opposite orders, split with one seed → identical trees."""
    write_unsplit_aligned(tmp_path / "one", NAMES)
    write_unsplit_aligned(tmp_path / "two", NAMES[::-1])
    for root in (tmp_path / "one", tmp_path / "two"):
        split_dataset(root, (0.8, 0.2), seed=7)
    assert split_of(tmp_path / "one") == split_of(tmp_path / "two")
    write_unsplit_aligned(tmp_path / "three", NAMES)
    split_dataset(tmp_path / "three", (0.8, 0.2), seed=8)
    assert split_of(tmp_path / "three") != split_of(tmp_path / "one")


def stems_by_split(root: Path, folder: str = "") -> dict[str, set[str]]:
    """Split name → file stems in ``root/<folder>/<split>`` (non-empty splits only)."""
    return {
        split: {name.rsplit(".", 1)[0] for name in names} for split, names in split_of(root, folder).items() if names
    }


def test_pairs_are_keyed_by_file_stem_in_both_layouts(tmp_path: Path) -> None:
    """An A|B file x.png and an A/x.png + B/x.png pair have the same key, x: the same stems split the same way,
    and the split is i2i.splits' (a seeded hash of the stem, cut at exact counts)."""
    stems = [f"p{i:02d}" for i in range(30)]
    aligned = write_unsplit_aligned(tmp_path / "aligned", [f"{s}.jpg" for s in stems])
    folders = write_unsplit_folders(tmp_path / "folders", stems)
    for root in (aligned, folders):
        split_dataset(root, (0.8, 0.1, 0.1), seed=9)
    expected = {split: set(members) for split, members in assign_splits(stems, (0.8, 0.1, 0.1), seed=9).items()}
    assert stems_by_split(aligned) == stems_by_split(folders, "A") == expected
    assert {s: len(v) for s, v in expected.items()} == {"train": 24, "val": 3, "test": 3}


def test_two_aligned_files_with_one_stem_are_two_pairs(tmp_path: Path) -> None:
    """x.png and x.jpg share the key x but are two pairs: both are split (moved or listed), none is lost."""
    names = ["x.png", "x.jpg", *NAMES[:8]]
    root = write_unsplit_aligned(tmp_path / "lists", names)
    result = split_dataset(root, (0.8, 0.2), seed=0, mode="lists")
    assert result.counts == {"train": 8, "val": 2}
    listed = [line for p in result.lists for line in p.read_text(encoding="utf-8").splitlines()]
    assert sorted(listed) == sorted(names)
    root = write_unsplit_aligned(tmp_path / "move", names)
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    result = split_dataset(root, (0.8, 0.2), seed=0)
    moved = list(root.glob("*/*"))
    assert result.moved == len(moved) == 10 and {p.name: p.read_bytes() for p in moved} == before
    assert {s: len(v) for s, v in split_of(root).items()} == {"train": 8, "val": 2}


@pytest.mark.parametrize(("seed", "ratios"), [(5, "8,1,1"), (0, "0.7,0.3")])
def test_data_pairs_and_data_split_put_the_same_names_in_the_same_splits(
    tmp_path: Path, seed: int, ratios: str
) -> None:
    """Photos named like the pairs of a dataset (sub/x.jpg ↔ sub__x) land in the same splits under
    ``i2i data pairs --seed S --ratios R`` as under ``i2i data split --seed S --ratios R``, in both layouts."""
    photos = tmp_path / "photos"
    relative = [f"p{i:02d}.png" for i in range(24)] + [f"sub/q{i}.png" for i in range(6)]
    for i, rel in enumerate(relative):
        write_image_file(photos / rel, seed=i)
    out = tmp_path / "pairs"
    argv = ["data", "pairs", str(photos), "--task", "grayscale", "--size", "8", "--out", str(out)]
    assert main([*argv, "--seed", str(seed), "--ratios", ratios]) == 0
    from_pairs = stems_by_split(out)
    stems = [rel.rsplit(".", 1)[0].replace("/", "__") for rel in relative]
    assert set().union(*from_pairs.values()) == set(stems)
    aligned = write_unsplit_aligned(tmp_path / "aligned", [f"{s}.png" for s in stems])
    folders = write_unsplit_folders(tmp_path / "folders", stems)
    for root in (aligned, folders):
        assert main(["data", "split", str(root), "--seed", str(seed), "--ratios", ratios]) == 0
    assert stems_by_split(aligned) == stems_by_split(folders, "A") == from_pairs


# --- move mode -----------------------------------------------------------------------------------------------------


def test_move_aligned_keeps_every_file_once(tmp_path: Path) -> None:
    """Every file ends in exactly one split with its bytes unchanged; the counts follow the ratios."""
    root = write_unsplit_aligned(tmp_path / "data", NAMES)
    before = by_name(contents(root))
    result = split_dataset(root, (0.8, 0.2), seed=0)
    assert result.counts == {"train": 16, "val": 4} and result.moved == 20
    after = contents(root)
    assert all(path.split("/")[0] in ("train", "val") for path in after)
    assert by_name(after) == before
    assert {s: len(v) for s, v in split_of(root).items()} == {"train": 16, "val": 4}
    assert not (root / PLAN_FILE).exists()
    assert detect_layout(root) == "aligned" and len(list_pairs(root, "val").records) == 4


def test_move_folders_keeps_pairs_together(tmp_path: Path) -> None:
    """A/x and B/x always land in the same split; three parts give train/val/test."""
    root = write_unsplit_folders(tmp_path / "data", [f"p{i}" for i in range(20)])
    before = contents(root)
    result = split_dataset(root, (0.8, 0.1, 0.1), seed=0)
    assert result.counts == {"train": 16, "val": 2, "test": 2}
    assert split_of(root, "A") == split_of(root, "B")
    after = contents(root)
    assert by_name(after, "A/") == by_name(before, "A/") and by_name(after, "B/") == by_name(before, "B/")
    for split in ("train", "val", "test"):
        report = list_pairs(root, split)
        assert report.layout == "folders" and report.problems == [] and len(report.records) == result.counts[split]


def test_non_image_files_stay_where_they_are(tmp_path: Path) -> None:
    """README.txt and hidden files are not part of the split and are left in place."""
    root = write_unsplit_aligned(tmp_path, NAMES[:5])
    (root / "README.txt").write_text("about")
    (root / ".DS_Store").write_bytes(b"x")
    split_dataset(root, (0.8, 0.2))
    assert (root / "README.txt").is_file() and (root / ".DS_Store").is_file()


def test_folders_with_unmatched_names_are_refused(tmp_path: Path) -> None:
    """A name without its partner refuses the split, listing every such file; nothing moves."""
    root = write_unsplit_folders(tmp_path, ["a", "b", "c"])
    write_image_file(root / "A" / "lonely.png", seed=1)
    (root / "B" / "c.png").unlink()
    before = contents(root)
    with pytest.raises(DatasetError, match=r"2 file\(s\) cannot be split as pairs; nothing was moved") as info:
        split_dataset(root, (0.5, 0.5))
    assert "  A/c.png: no matching file in B/" in str(info.value)
    assert "  A/lonely.png: no matching file in B/" in str(info.value)
    assert contents(root) == before


def test_non_ascii_and_space_names(tmp_path: Path) -> None:
    """Accented, CJK and space-containing names split like any other, in both modes."""
    names = ["façade 1.png", "建物.png", "a b.png", "ünï cödé.png", "x.png"]
    root = write_unsplit_aligned(tmp_path / "m", names)
    before = by_name(contents(root))
    split_dataset(root, (0.6, 0.4))
    assert by_name(contents(root)) == before
    root = write_unsplit_aligned(tmp_path / "l", names)
    result = split_dataset(root, (0.6, 0.4), mode="lists")
    listed = [line for p in result.lists for line in p.read_text(encoding="utf-8").splitlines()]
    assert sorted(listed) == sorted(names)


# --- lists mode ----------------------------------------------------------------------------------------------------


def test_lists_mode_moves_nothing_and_lists_every_pair_once(tmp_path: Path) -> None:
    """Lists hold each pair once (A and B paths tab-separated for folders); no file moves; same split as move."""
    stems = [f"p{i}" for i in range(10)]
    root = write_unsplit_folders(tmp_path / "lists", stems)
    before = contents(root)
    result = split_dataset(root, (0.8, 0.2), seed=5, mode="lists")
    assert contents(root) == before
    assert result.lists == [root / "train.txt", root / "val.txt"] and result.counts == {"train": 8, "val": 2}
    lines = {p.stem: p.read_text(encoding="utf-8").splitlines() for p in result.lists}
    listed = [line for split in lines.values() for line in split]
    assert sorted(listed) == sorted(f"A/{s}.png\tB/{s}.png" for s in stems)
    moved = write_unsplit_folders(tmp_path / "moved", stems)
    split_dataset(moved, (0.8, 0.2), seed=5)
    for split, members in lines.items():
        assert {line.split("\t")[0].split("/")[-1] for line in members} == split_of(moved, "A")[split]


# --- already split, --force ----------------------------------------------------------------------------------------


def test_already_split_is_refused_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Split folders or list files mean 'already split': refused (one line, exit 2) unless --force."""
    root = write_unsplit_aligned(tmp_path / "folders", NAMES[:10])
    split_dataset(root, (0.8, 0.2))
    with pytest.raises(DatasetError, match=r"already split \(train, val\); pass --force"):
        split_dataset(root, (0.8, 0.2))
    root = write_unsplit_aligned(tmp_path / "lists", NAMES[:10])
    split_dataset(root, (0.8, 0.2), mode="lists")
    assert main(["data", "split", str(root)]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"i2i: error: {root} is already split (train.txt, val.txt); pass --force to re-split all of its pairs\n"
    )


def test_force_resplits_everything_and_adds_new_files(tmp_path: Path) -> None:
    """--force gathers the split folders and loose files, re-splits them all, and removes a now-empty test/."""
    root = write_unsplit_aligned(tmp_path / "data", NAMES[:16])
    split_dataset(root, (0.5, 0.25, 0.25), seed=1)
    for i, name in enumerate(NAMES[16:]):  # new files dropped beside the split folders
        write_image_file(root / name, seed=16 + i)
    before = by_name(contents(root))
    assert len(before) == 20
    result = split_dataset(root, (0.8, 0.2), seed=1, force=True)
    assert result.counts == {"train": 16, "val": 4}
    assert by_name(contents(root)) == before
    assert sorted(p.name for p in root.iterdir()) == ["train", "val"]
    fresh = write_unsplit_aligned(tmp_path / "fresh", NAMES)
    split_dataset(fresh, (0.8, 0.2), seed=1)
    assert split_of(fresh) == split_of(root)  # the same split as splitting all 20 from scratch


def test_force_refuses_a_name_in_two_splits(tmp_path: Path) -> None:
    """train/1.png and val/1.png cannot both become <split>/1.png: refused, listing the clash; nothing moved."""
    write_image_file(tmp_path / "train" / "1.png", seed=0)
    write_image_file(tmp_path / "train" / "2.png", seed=1)
    write_image_file(tmp_path / "val" / "1.png", seed=2)
    before = contents(tmp_path)
    with pytest.raises(DatasetError, match="same pair name as"):
        split_dataset(tmp_path, (0.5, 0.5), force=True)
    assert contents(tmp_path) == before


def test_force_lists_replace_old_lists(tmp_path: Path) -> None:
    """--force --mode lists rewrites train/val lists and removes a test list that the new split no longer has."""
    root = write_unsplit_aligned(tmp_path, NAMES[:10])
    split_dataset(root, (0.6, 0.2, 0.2), mode="lists")
    split_dataset(root, (0.8, 0.2), mode="lists", force=True)
    assert sorted(p.name for p in root.glob("*.txt")) == ["train.txt", "val.txt"]


# --- interrupted moves ---------------------------------------------------------------------------------------------


class Interrupt:
    """An on_progress callback that raises KeyboardInterrupt after ``after`` moves."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, done: int, total: int) -> None:
        if done >= self.after:
            raise KeyboardInterrupt


@pytest.mark.parametrize("after", [1, 7, 20])
def test_interrupted_move_is_finished_by_a_rerun(tmp_path: Path, after: int) -> None:
    """Stopped after some moves (or after all of them, before the plan is removed), a rerun finishes the plan."""
    root = write_unsplit_folders(tmp_path / "data", [f"p{i}" for i in range(10)])
    before = contents(root)
    with pytest.raises(KeyboardInterrupt):
        split_dataset(root, (0.8, 0.2), seed=4, on_progress=Interrupt(after))
    assert (root / PLAN_FILE).is_file()
    result = split_dataset(root, (0.8, 0.2), seed=4)
    assert result.resumed and result.moved == 20 - after and result.counts == {"train": 8, "val": 2}
    assert not (root / PLAN_FILE).exists()
    after_files = contents(root)
    assert by_name(after_files, "A/") == by_name(before, "A/") and by_name(after_files, "B/") == by_name(before, "B/")
    clean = write_unsplit_folders(tmp_path / "clean", [f"p{i}" for i in range(10)])
    split_dataset(clean, (0.8, 0.2), seed=4)
    assert split_of(root, "A") == split_of(clean, "A") == split_of(root, "B")


def test_interrupted_move_with_other_options_says_how_to_finish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rerun with another seed or ratios, or in lists mode, is refused with the command that finishes the plan."""
    root = write_unsplit_aligned(tmp_path, NAMES[:10])
    with pytest.raises(KeyboardInterrupt):
        split_dataset(root, (0.7, 0.3), seed=2, on_progress=Interrupt(3))
    for kwargs in ({"seed": 3}, {"ratios": (0.8, 0.2)}, {"mode": "lists"}):
        options = {"ratios": (0.7, 0.3), "seed": 2} | kwargs
        with pytest.raises(I2IError, match=r"interrupted split .* --mode move --seed 2 --ratios 0\.7,0\.3$"):
            split_dataset(root, **options)
    assert main(["data", "split", str(root), "--seed", "2", "--ratios", "7,3"]) == 0
    assert "(finished an interrupted split)" in capsys.readouterr().out
    assert sum(len(v) for v in split_of(root).values()) == 10


def test_plan_split_changes_nothing(tmp_path: Path) -> None:
    """Planning alone moves no file and writes no plan."""
    root = write_unsplit_aligned(tmp_path, NAMES[:5])
    plan = plan_split(root, (0.6, 0.4), seed=0)
    assert len(plan.moves) == 5 and sorted(p.name for p in root.iterdir()) == NAMES[:5]


def test_command_moves_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_unsplit_aligned(tmp_path, NAMES[:10])
    assert main(["data", "split", str(root), "--ratios", "8,2", "--seed", "1"]) == 0
    assert capsys.readouterr().out == f"{root}: train 8, val 2; moved 10 file(s)\n"


def test_the_printed_finish_command_works_for_uneven_ratios(tmp_path: Path) -> None:
    """Ratios such as 8,2,1 are printed rounded in the 'finish it with' hint; typing that hint back in finishes."""
    root = write_unsplit_aligned(tmp_path, NAMES[:11])
    with pytest.raises(KeyboardInterrupt):
        split_dataset(root, parse_ratios("8,2,1"), seed=0, on_progress=Interrupt(2))
    with pytest.raises(I2IError) as info:
        split_dataset(root, (0.8, 0.2))
    hint = str(info.value).split("finish it with: ")[1].split()
    assert hint[:3] == ["i2i", "data", "split"]
    assert main(hint[1:]) == 0
    assert {s: len(v) for s, v in split_of(root).items()} == {"test": 1, "train": 8, "val": 2}


def test_entries_that_are_not_image_files_are_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A FIFO or a folder named like an image cannot be split: the split is refused naming them, nothing moves; a
    file of an unsupported format is named in a warning and stays where it is."""
    root = write_unsplit_aligned(tmp_path, NAMES[:4])
    os.mkfifo(root / "pipe.png")
    (root / "folder.jpg").mkdir()
    before = contents(root)
    with pytest.raises(DatasetError, match=r"2 file\(s\) cannot be split as pairs; nothing was moved") as info:
        split_dataset(root, (0.5, 0.5))
    assert "  pipe.png: not a regular file (FIFO)" in str(info.value)
    assert "  folder.jpg: a directory, not an image" in str(info.value)
    assert contents(root) == before
    (root / "pipe.png").unlink()
    (root / "folder.jpg").rmdir()
    (root / "photo.heic").write_bytes(b"not read")
    with caplog.at_level("WARNING"):
        split_dataset(root, (0.5, 0.5))
    assert "photo.heic: unsupported format .heic" in caplog.text
    assert (root / "photo.heic").is_file()
