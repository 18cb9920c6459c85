"""The progress view: `python -m workshop progress SUBMISSIONS`, learners x stages.

Each entry of SUBMISSIONS is a learner's lesson workspace (a folder or a .zip) collected
mid-workshop. What the lessons write there (app/, alembic/ and alembic.ini, which stage 10 reads,
and the deploy files stage 12 checks) is copied, without following links, into a sandboxed job
exactly like grading's, and the kit's stage tests run against it there. Nothing else of the
workspace is read, and nothing of it is changed.
"""

import io
import stat
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from workshop import build, paths, stages
from workshop.grading import Runner, entries, learner_name

MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass
class Row:
    learner: str
    stages: dict[int, tuple[int, int]] = field(default_factory=dict)  # stage -> (passed, total)
    problem: str = ""


@dataclass
class Table:
    stages: list[int]
    rows: list[Row]


@dataclass(frozen=True)
class Kept:
    """The files of a workspace the stage tests may read: those the lessons write, and
    anything else in the folders they write into (a learner's own module in app/)."""

    files: frozenset[str]
    folders: frozenset[str]

    @classmethod
    def of(cls, kit: Path) -> "Kept":
        written = build.replay(paths.lessons(kit))
        folders = {name.split("/")[0] for name in written if "/" in name}
        return cls(frozenset(written), frozenset(folders))

    def __call__(self, relative: PurePosixPath) -> bool:
        text = relative.as_posix()
        if text in self.files:
            return True
        if "__pycache__" in relative.parts or any(p.startswith(".") for p in relative.parts):
            return False
        return len(relative.parts) > 1 and relative.parts[0] in self.folders


def _folder_files(folder: Path, kept: Kept) -> Iterator[tuple[str, bytes]]:
    inits = sorted(folder.rglob("app/__init__.py"), key=lambda p: len(p.parts))
    if not inits:
        return
    root = inits[0].parent.parent
    for path in sorted(root.rglob("*")):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        if path.is_symlink() or not path.is_file() or not kept(relative):
            continue
        if any((root / p).is_symlink() for p in relative.parents):
            continue
        if path.stat().st_size <= MAX_FILE_BYTES:
            yield relative.as_posix(), path.read_bytes()


def _zip_files(archive_path: Path, kept: Kept) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(archive_path) as archive:
        names = [PurePosixPath(i.filename) for i in archive.infolist()]
        inits = sorted((n for n in names if n.as_posix().endswith("app/__init__.py")),
                       key=lambda n: len(n.parts))  # fmt: skip
        if not inits:
            return
        prefix = inits[0].parent.parent
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
                continue
            try:
                relative = name.relative_to(prefix)
            except ValueError:
                continue
            if ".." in relative.parts or relative.is_absolute() or not kept(relative):
                continue
            if info.file_size <= MAX_FILE_BYTES:
                yield relative.as_posix(), archive.read(info)


def workspace_zip(entry: Path, kept: Kept) -> bytes | None:
    """The entry's lesson files as a zip the job unpacks; None when it has no app/."""
    files = list(_zip_files(entry, kept) if entry.is_file() else _folder_files(entry, kept))
    if not files:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def progress(kit: Path, submissions: Path, *, jobs: int | None = None,
             timeout: float = 120) -> Table:  # fmt: skip
    import os

    wanted = sorted(stages.stage_files(kit))
    found = entries(submissions)
    jobs = max(1, jobs or os.cpu_count() or 1)
    runner = Runner(kit, [submissions.resolve()], jobs, timeout)
    kept = Kept.of(kit)

    def one(entry: Path) -> Row:
        row = Row(learner_name(entry))
        try:
            data = workspace_zip(entry, kept)
        except (OSError, zipfile.BadZipFile) as error:
            row.problem = f"unreadable: {error}"
            return row
        if data is None:
            row.problem = "no app/ in this workspace"
            return row
        status, result = runner.run({"workspace.zip": data}, ["stages", str(timeout)])
        if status != "ok":
            row.problem = status
            return row
        reported: dict[str, Any] = result.get("stages", {})
        for number in wanted:
            stage = reported.get(str(number), {})
            passed = len(stage.get("passed", []))
            total = passed + len(stage.get("failed", []))
            row.stages[number] = (passed, total)
        return row

    try:
        with ThreadPoolExecutor(max_workers=runner.threads) as pool:
            rows = list(pool.map(one, found))
    finally:
        runner.close()
    return Table(wanted, rows)


def format_table(table: Table) -> str:
    width = max([9, *(len(r.learner) + 2 for r in table.rows)])
    lines = ["learner".ljust(width) + "".join(f"{n:02d}".ljust(8) for n in table.stages)]
    for row in table.rows:
        if row.problem:
            lines.append(row.learner.ljust(width) + row.problem)
            continue
        cells = []
        for number in table.stages:
            passed, total = row.stages.get(number, (0, 0))
            mark = "✓" if total and passed == total else "✗" if total else "-"
            cells.append(f"{mark} {passed}/{total}".ljust(8))
        lines.append(row.learner.ljust(width) + "".join(cells))
    lines.append("")
    lines.append("✓ every stage test passes, ✗ some fail (passed/total), - could not run.")
    return "\n".join(lines)
