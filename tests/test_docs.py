"""Documentation stays in sync with the code: every module has its sentence in docs/architecture.md."""

from __future__ import annotations

from helpers import REPO


def test_every_module_is_in_the_architecture_map() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = sorted(str(p.relative_to(REPO)) for p in (REPO / "src" / "i2i").rglob("*.py"))
    missing = [m for m in modules if f"`{m}`" not in doc]
    assert not missing, f"add a sentence for these modules to docs/architecture.md: {missing}"
    listed = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `src/")}
    stale = sorted(m for m in listed - set(modules) if not (m.endswith("/") and (REPO / m).is_dir()))  # or a folder
    assert not stale, f"docs/architecture.md lists modules that no longer exist: {stale}"
