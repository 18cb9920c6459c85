"""The way back from app/ to the lessons: which cells write a file, and copying edits into them.

A maintainer edits app/ with an editor, runs the tests, then syncs: each changed file goes into
the last lesson cell that writes it. Earlier lessons' versions of a rewritten file are left as
they are (they tell the story of how it grew), but the cells that still contain lines the edit
changed are listed, so nothing goes stale silently.
"""

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from workshop.build import replay, writes
from workshop.notebooks import Lesson, WriteFile, cell_body, file_content


class SyncError(Exception):
    """An edit that cannot be put back into the lessons automatically."""


@dataclass(frozen=True)
class Place:
    """Where a lesson writes (part of) a file."""

    write: WriteFile
    last: bool  # part of the version the lessons end with

    def __str__(self) -> str:
        assert self.write.lesson is not None
        kind = "appends to" if self.write.append else "writes"
        when = "the final version" if self.last else "an earlier version"
        return (
            f"{self.write.lesson.relative} cell #{self.write.index} (id {self.write.cell_id}) "
            f"{kind} {self.write.path}: {when}"
        )


def where(lessons: list[Lesson], path: str) -> list[Place]:
    """Every lesson cell that writes `path`, in order, marked last when the result is kept."""
    found = [write for write in writes(lessons) if write.path == path]
    final = _final_chain(found)
    return [Place(write, write in final) for write in found]


@dataclass
class SyncReport:
    updated: dict[str, list[str]] = field(default_factory=dict)  # path -> cells rewritten
    stale: dict[str, list[str]] = field(default_factory=dict)  # path -> earlier cells to review


def sync(lessons: list[Lesson], root: Path, paths: list[str] | None = None) -> SyncReport:
    """Copy root's current files into the lesson cells that write their final versions."""
    files = replay(lessons)
    wanted = paths if paths else sorted(files)
    unknown = [path for path in wanted if path not in files]
    if unknown:
        raise SyncError(f"no lesson writes {', '.join(unknown)} (see `workshop where PATH`)")
    report = SyncReport()
    edits: dict[Path, dict[int, str]] = {}  # notebook -> cell index -> new body
    for path in wanted:
        target = root / path
        if not target.exists():
            raise SyncError(f"{path} is missing in {root}: nothing to sync from")
        current = target.read_text(encoding="utf-8")
        if current == files[path]:
            continue
        found = [write for write in writes(lessons) if write.path == path]
        chain = _final_chain(found)
        for write, content in zip(chain, _split(path, current, chain), strict=True):
            if content != write.content:
                assert write.lesson is not None
                edits.setdefault(write.lesson.path, {})[write.index] = cell_body(content)
                report.updated.setdefault(path, []).append(str(Place(write, True)))
        stale = _stale_cells(files[path], current, [w for w in found if w not in chain])
        if stale:
            report.stale[path] = stale
    for notebook, cells in edits.items():
        _rewrite_cells(notebook, cells)
    return report


def _final_chain(found: list[WriteFile]) -> list[WriteFile]:
    """The last full write of a file and the appends after it: what the file ends up as."""
    for start in range(len(found) - 1, -1, -1):
        if not found[start].append:
            return found[start:]
    return found


def _split(path: str, current: str, chain: list[WriteFile]) -> list[str]:
    """Share the edited file out among the cells that build it (one cell may change)."""
    if len(chain) == 1:
        return [current]
    parts = [write.content for write in chain]
    head = 0
    while head < len(parts) and current.startswith("".join(parts[: head + 1])):
        head += 1
    tail = 0
    while tail < len(parts) - head and current.endswith("".join(parts[len(parts) - tail - 1 :])):
        tail += 1
    middle = len(parts) - head - tail
    if middle > 1:
        raise SyncError(
            f"{path}: the edit spans {middle} of the cells that build it; edit them in the lesson"
        )
    changed = head if middle == 1 else max(head - 1, 0)
    # An edit that only added text between two cells goes to the cell before it.
    start = len("".join(parts[:changed]))
    end = len(current) - len("".join(parts[changed + 1 :]))
    new = [*parts[:changed], current[start:end], *parts[changed + 1 :]]
    if file_content(new[changed]) != new[changed] or "".join(new) != current:
        raise SyncError(f"{path}: cannot share this edit among its cells; edit it in the lesson")
    return new


def _stale_cells(before: str, after: str, earlier: list[WriteFile]) -> list[str]:
    """Earlier versions that still contain lines this edit changed or removed."""
    old_lines = before.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=after.splitlines(), autojunk=False)
    touched = {
        old_lines[i].strip()
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag in ("replace", "delete")
        for i in range(i1, i2)
    }
    touched = {line for line in touched if len(line) > 3 and not line.startswith("# Written by")}
    stale = []
    for write in earlier:
        hits = [line for line in write.content.splitlines() if line.strip() in touched]
        if hits:
            stale.append(f"{Place(write, False)}; it still has: {hits[0].strip()}")
    return stale


def _rewrite_cells(notebook: Path, bodies: dict[int, str]) -> None:
    import nbformat  # here: importing it takes ~2 s (jsonschema's format checkers)

    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    for index, body in bodies.items():
        cell = nb.cells[index]
        first = cell.source.partition("\n")[0]
        cell.source = f"{first}\n{body}"
    # nbformat's own layout (and a final newline), so the diff shows only the edited cells.
    notebook.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")  # type: ignore[no-untyped-call]
