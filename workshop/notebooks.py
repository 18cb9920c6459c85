"""Reading lesson notebooks: which lessons exist and which files their cells write."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

LESSON_FILE = re.compile(r"^(\d{2})_\w+\.ipynb$")
WRITEFILE = re.compile(r"^%%writefile(?P<append>\s+(?:-a|--append))?\s+(?P<path>\S+)\s*$")


@dataclass(frozen=True)
class Lesson:
    number: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        """The lesson's first heading, without the leading '#'."""
        for cell in _cells(self.path):
            if cell["cell_type"] == "markdown":
                for line in _source(cell).splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
        return self.name


@dataclass(frozen=True)
class WriteFile:
    """One `%%writefile` cell: the path it writes and what ends up in the file."""

    path: str
    content: str
    append: bool


def find_lessons(notebooks_dir: Path) -> list[Lesson]:
    lessons = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        match = LESSON_FILE.match(path.name)
        if match:
            lessons.append(Lesson(int(match.group(1)), path))
    return lessons


def writefile_cells(lesson: Lesson) -> list[WriteFile]:
    """The lesson's `%%writefile` cells, in order."""
    writes = []
    for cell in _cells(lesson.path):
        if cell["cell_type"] != "code":
            continue
        first, _, body = _source(cell).partition("\n")
        match = WRITEFILE.match(first)
        if match:
            writes.append(WriteFile(match["path"], file_content(body), bool(match["append"])))
    return writes


def file_content(body: str) -> str:
    """What IPython's %%writefile writes for a cell body: the body, ending in a newline."""
    return body if body.endswith("\n") else body + "\n"


def _cells(path: Path) -> list[dict[str, object]]:
    cells: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def _source(cell: dict[str, object]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else str(source)
