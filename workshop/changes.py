"""`lesson.changes(path)`: what this lesson changed in a file an earlier lesson wrote.

Shown under a `%%writefile` cell that rewrites a file: a unified diff against the version the
earlier lessons left, coloured in JupyterLab (text/html) and readable as plain text wherever
HTML is not rendered (text/plain, e.g. GitHub's notebook view without styles).
"""

import difflib
import html
from dataclasses import dataclass
from pathlib import Path

from workshop import build, paths
from workshop.notebooks import HEADER

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
    earlier = build.replay(lessons, lesson - 1)
    writers = [w for w in build.writes(lessons, lesson - 1) if w.path == path]
    last = writers[-1].lesson if writers else None
    since = f"lesson {last.number:02d}" if last else "the earlier lessons"
    before = earlier.get(path, "")
    target = root / path
    after = target.read_text(encoding="utf-8") if target.exists() else ""
    return Changes(path, since, before, after)


def _code_lines(content: str) -> list[str]:
    """The file's lines without the generated header (it only names the writing lesson)."""
    lines = content.splitlines()
    marker = HEADER.split("{notebook}")[0].strip()
    if lines and marker in lines[0]:
        return lines[1:]
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
