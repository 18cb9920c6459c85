"""Reading lesson notebooks: which lessons exist and which files their cells write."""

import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LESSON_FILE = re.compile(r"^(\d{2})_\w+\.ipynb$")
WRITEFILE = re.compile(r"^%%writefile(?P<append>\s+(?:-a|--append))?\s+(?P<path>\S+)\s*$")
# The first line of every file a lesson writes, so nobody edits a generated file unawares.
HEADER = "Written by {notebook}: edit there, or edit here and run `workshop sync`"


@dataclass(frozen=True)
class Lesson:
    number: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def relative(self) -> str:
        """notebooks/05_routers.ipynb: how files and messages name the lesson."""
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def title(self) -> str:
        """The lesson's first heading, without the leading '#'."""
        for cell in read_cells(self.path):
            if cell["cell_type"] == "markdown":
                for line in cell_source(cell).splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
        return self.name


@dataclass(frozen=True)
class WriteFile:
    """One `%%writefile` cell: the path it writes and what ends up in the file."""

    path: str
    content: str
    append: bool
    lesson: Lesson | None = None
    index: int = -1  # position of the cell in the notebook
    cell_id: str = ""


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
    for index, cell in enumerate(read_cells(lesson.path)):
        if cell["cell_type"] != "code":
            continue
        first, _, body = cell_source(cell).partition("\n")
        match = WRITEFILE.match(first)
        if match:
            writes.append(
                WriteFile(
                    path=match["path"],
                    content=file_content(body),
                    append=bool(match["append"]),
                    lesson=lesson,
                    index=index,
                    cell_id=str(cell.get("id", "")),
                )
            )
    return writes


def file_content(body: str) -> str:
    """What IPython's %%writefile writes for a cell body: the body, ending in a newline."""
    return body if body.endswith("\n") else body + "\n"


def cell_body(content: str) -> str:
    """The cell body that writes exactly `content` (the inverse of file_content)."""
    if not content.endswith("\n"):
        raise ValueError("a file written by %%writefile always ends with a newline")
    return content if content.endswith("\n\n") else content[:-1]


def header_for(path: str, notebook: str) -> str:
    """The first line a file written by `notebook` must carry, in the file's comment syntax."""
    text = HEADER.format(notebook=notebook)
    suffix = PurePosixPath(path).suffix
    if suffix in {".html", ".htm", ".xml", ".svg"}:
        return f"<!-- {text} -->"
    if suffix == ".mako":
        return f"## {text}"  # a Mako comment: generated migrations do not inherit it
    return f"# {text}"


def read_cells(path: Path) -> list[dict[str, object]]:
    cells: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def cell_source(cell: dict[str, object]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else str(source)
