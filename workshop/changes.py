"""`lesson.changes(path)`: what this lesson changed in a file an earlier lesson wrote.

Shown under a `%%writefile` cell that rewrites a file: a unified diff against the version the
earlier lessons left, coloured in JupyterLab (text/html) and readable as plain text wherever
HTML is not rendered (text/plain, e.g. GitHub's notebook view without styles).
"""

import difflib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workshop import build, paths
from workshop.notebooks import HEADER, Lesson, cell_source, read_cells, writefile_cells

# A cell that shows a diff: its stored output is what `stale_outputs` keeps up to date.
CALL = re.compile(r"""^lesson\.changes\((["'])(?P<path>[^"']+)\1\)\s*$""")

CONTEXT_LINES = 2
_COLOURS = {"+": "#116329", "-": "#82071e", "@": "#6639ba"}
_BACKGROUNDS = {"+": "#dafbe1", "-": "#ffebe9", "@": "#f6f0ff"}


@dataclass(frozen=True)
class Changes:
    """The difference between two versions of one file, displayable in a notebook."""

    path: str
    since: str  # which lesson left the earlier version, in words
    before: str
    after: str

    @property
    def diff(self) -> list[str]:
        return list(
            difflib.unified_diff(
                _code_lines(self.before),
                _code_lines(self.after),
                fromfile=f"{self.path} ({self.since})",
                tofile=f"{self.path} (now)",
                n=CONTEXT_LINES,
                lineterm="",
            )
        )

    @property
    def summary(self) -> str:
        body = self.diff[2:]
        added = sum(1 for line in body if line.startswith("+"))
        removed = sum(1 for line in body if line.startswith("-"))
        total = len(_code_lines(self.after))
        if not added and not removed:
            return f"{self.path}: no change since {self.since}."
        return (
            f"{self.path}: {_count(added, 'line')} added, {removed} removed "
            f"since {self.since} ({total} lines now)."
        )

    def __repr__(self) -> str:
        return "\n".join([self.summary, *self.diff[2:]])

    def _repr_html_(self) -> str:
        rows = []
        for line in self.diff[2:]:
            mark = line[:1]
            text = html.escape(line)
            if mark in _COLOURS:
                style = f"color:{_COLOURS[mark]};background:{_BACKGROUNDS[mark]}"
                rows.append(f'<span style="{style}">{text}</span>')
            else:
                rows.append(text)
        return (
            f"<p><strong>{html.escape(self.summary)}</strong></p>"
            f'<pre style="line-height:1.35">{chr(10).join(rows)}</pre>'
        )


def changes(path: str, lesson: int, root: Path | None = None) -> Changes:
    """What lesson `lesson` changed in `path` (as it is on disk now) since the earlier lessons."""
    root = root or Path.cwd()
    lessons = paths.lessons(paths.find_root(root))
    target = root / path
    after = target.read_text(encoding="utf-8") if target.exists() else ""
    return _against_earlier(lessons, lesson, path, after)


def _against_earlier(lessons: list[Lesson], lesson: int, path: str, after: str) -> Changes:
    earlier = build.replay(lessons, lesson - 1)
    writers = [w for w in build.writes(lessons, lesson - 1) if w.path == path]
    last = writers[-1].lesson if writers else None
    since = f"lesson {last.number:02d}" if last else "the earlier lessons"
    return Changes(path, since, earlier.get(path, ""), after)


def expected_outputs(lessons: list[Lesson], lesson: Lesson) -> dict[int, Changes]:
    """Cell index -> the diff each `lesson.changes(...)` cell of `lesson` shows when run in
    order (the file as the lesson's cells above it left it)."""
    files = build.replay(lessons, lesson.number - 1)
    by_index = {write.index: write for write in writefile_cells(lesson)}
    found = {}
    for index, cell in enumerate(read_cells(lesson.path)):
        if index in by_index:
            write = by_index[index]
            before = files.get(write.path, "") if write.append else ""
            files[write.path] = before + write.content
        elif cell["cell_type"] == "code":
            match = CALL.match(cell_source(cell).strip())
            if match:
                path = match["path"]
                found[index] = _against_earlier(lessons, lesson.number, path, files.get(path, ""))
    return found


def _result(shown: Changes, execution_count: Any) -> Any:
    import nbformat  # here, not at the top: importing it takes ~2 s, and lessons never need it

    return nbformat.v4.new_output(  # type: ignore[no-untyped-call]
        "execute_result",
        data={"text/html": shown._repr_html_(), "text/plain": repr(shown)},
        execution_count=execution_count,
    )


def stale_outputs(lessons: list[Lesson], *, fix: bool = False) -> list[str]:
    """The `lesson.changes(...)` cells whose stored diff no longer matches the lessons (an
    edit to a file they show, by hand or by `workshop sync`); with fix, store the right one."""
    import nbformat

    stale = []
    for lesson in lessons:
        wanted = expected_outputs(lessons, lesson)
        if not wanted:
            continue
        notebook = nbformat.read(lesson.path, as_version=4)  # type: ignore[no-untyped-call]
        for index, shown in wanted.items():
            cell = notebook.cells[index]
            if cell.get("execution_count") is None:
                # nbval treats a cell without a count as never run, and then refuses its
                # stored output: number a new cell after the code cell before it.
                counts = [c.get("execution_count") or 0 for c in notebook.cells[:index]]
                cell["execution_count"] = max(counts, default=0) + 1
            result = _result(shown, cell.get("execution_count"))
            if cell.get("outputs") != [result]:
                stale.append(f"{lesson.relative} cell #{index}: the diff of {shown.path}")
                cell.outputs = [result]
        if fix and any(s.startswith(f"{lesson.relative} ") for s in stale):
            text = nbformat.writes(notebook) + "\n"  # type: ignore[no-untyped-call]
            lesson.path.write_text(text, encoding="utf-8")
    return stale


def _code_lines(content: str) -> list[str]:
    """The file's lines without the generated header (it only names the writing lesson)."""
    lines = content.splitlines()
    marker = HEADER.split("{notebook}")[0].strip()
    if lines and marker in lines[0]:
        return lines[1:]
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
