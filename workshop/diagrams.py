"""The lessons' mermaid diagrams as SVG images that render everywhere (GitHub, nbviewer, Lab).

JupyterLab draws a ```mermaid block itself; GitHub and nbviewer show it as code. So every
diagram cell shows a committed image, `notebooks/figures/<lesson>_<k>.svg`, rendered from the
block, and keeps the mermaid source below it, folded in a <details> element. Each SVG starts
with a comment holding the hash of the source it was drawn from; `check` (no npm needed)
reports a block whose image is missing, stale or not referenced.

Re-render after changing a diagram (a maintainer's step, needs mermaid-cli and Chromium):

    PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix ~/.cache/kit-mermaid @mermaid-js/mermaid-cli
    MMDC=~/.cache/kit-mermaid/node_modules/.bin/mmdc python -m workshop.diagrams

`python -m workshop.diagrams --check` only checks.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workshop import paths
from workshop.notebooks import Lesson

if TYPE_CHECKING:
    import nbformat

FIGURES = "figures"  # beside the lessons: notebooks/figures/
# Changing how diagrams are drawn (this config) makes every image stale on purpose.
MERMAID_CONFIG = {
    "theme": "neutral",
    "htmlLabels": False,  # SVG <text>, not HTML in <foreignObject>: renders outside browsers too
    "flowchart": {"htmlLabels": False, "useMaxWidth": True},
    "sequence": {"useMaxWidth": True},
}
BLOCK = re.compile(
    r"(?:!\[(?P<alt>[^\]]*)\]\((?P<image>[^)]+\.svg)\)\n\n<details><summary>[^<]*</summary>\n\n)?"
    r"```mermaid\n(?P<source>.*?)```(?:\n\n</details>)?",
    re.S,
)
STAMP = re.compile(r"^<!-- mermaid source sha256: ([0-9a-f]{64}) -->\n")
SUMMARY = "The diagram's mermaid source"


@dataclass(frozen=True)
class Diagram:
    lesson: Lesson
    cell: int
    number: int  # 1, 2... within the lesson
    source: str
    image: str | None  # the relative path the cell shows, if any
    alt: str | None  # the image's alt text, if it shows one
    expected_alt: str  # "Diagram: " and the heading the diagram sits under

    @property
    def expected_image(self) -> str:
        return f"{FIGURES}/{self.lesson.name}_{self.number}.svg"

    @property
    def digest(self) -> str:
        config = json.dumps(MERMAID_CONFIG, sort_keys=True)
        return hashlib.sha256((config + "\n" + self.source).encode()).hexdigest()


def diagrams(lesson: Lesson) -> list[Diagram]:
    found: list[Diagram] = []
    notebook = json.loads(lesson.path.read_text())
    section = ""  # the last heading of the markdown cells above: where a diagram sits
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        for match in BLOCK.finditer(source):
            above = _heading(source[: match.start()]) or section
            alt = alt_text(above) if above else ""
            diagram = Diagram(
                lesson,
                index,
                len(found) + 1,
                match["source"],
                match["image"],
                match["alt"],
                alt or alt_text(source),
            )
            found.append(diagram)
        section = _heading(source) or section
    return found


def problems(root: Path) -> list[str]:
    """What is wrong with the images of the lessons under root (empty: all up to date)."""
    found = []
    for lesson in paths.lessons(root):
        for diagram in diagrams(lesson):
            where = f"{lesson.relative}, cell {diagram.cell}, diagram {diagram.number}"
            svg = lesson.path.parent / diagram.expected_image
            if diagram.image != diagram.expected_image:
                found.append(f"{where}: shows {diagram.image}, not {diagram.expected_image}")
            elif diagram.alt != diagram.expected_alt:
                found.append(
                    f"{where}: its alt text is {diagram.alt!r}, not {diagram.expected_alt!r}"
                )
            elif not svg.is_file():
                found.append(f"{where}: {diagram.expected_image} is missing")
            else:
                stamp = STAMP.match(svg.read_text())
                if not stamp or stamp.group(1) != diagram.digest:
                    found.append(f"{where}: {diagram.expected_image} is older than its source")
    return found


def with_image(diagram: Diagram, alt: str) -> str:
    """The markdown for a diagram: the image, then the mermaid source folded away."""
    return (
        f"![{alt}]({diagram.expected_image})\n\n<details><summary>{SUMMARY}</summary>\n\n"
        f"```mermaid\n{diagram.source}```\n\n</details>"
    )


def _heading(text: str, last: bool = True) -> str:
    headings = [line for line in text.splitlines() if line.startswith("#")]
    return (headings[-1] if last else headings[0]) if headings else ""


def alt_text(text: str) -> str:
    """ "Diagram: " and the last heading in `text` (the markdown above a diagram), or its
    first heading (a cell whose diagram comes before any heading, in a lesson without one)."""
    heading = _heading(text) or _heading(text, last=False)
    title = heading.lstrip("#").strip().replace("`", "").replace("[", "").replace("]", "")
    return f"Diagram: {title}" if title else "Diagram"


def render(root: Path, mmdc: str, chromium: str) -> list[str]:
    """Rewrite the diagram cells to show their images, and draw the missing or stale ones."""
    import nbformat  # here: importing it takes ~2 s, and `--check` never needs it

    written = []
    with tempfile.TemporaryDirectory(prefix="kit-mermaid-") as scratch:
        work = Path(scratch)
        (work / "puppeteer.json").write_text(
            json.dumps({"executablePath": chromium, "args": ["--no-sandbox", "--disable-gpu"]})
        )
        (work / "mermaid.json").write_text(json.dumps(MERMAID_CONFIG))
        for lesson in paths.lessons(root):
            found = diagrams(lesson)
            if not found:
                continue
            notebook = nbformat.read(lesson.path, as_version=4)  # type: ignore[no-untyped-call]
            for diagram in found:
                svg = lesson.path.parent / diagram.expected_image
                stamp = STAMP.match(svg.read_text()) if svg.is_file() else None
                if not stamp or stamp.group(1) != diagram.digest:
                    _draw(diagram, svg, work, mmdc)
                    written.append(str(svg.relative_to(root)))
            before = lesson.path.read_text()
            _point_cells_at_images(notebook, found)
            nbformat.write(notebook, lesson.path)  # type: ignore[no-untyped-call]
            if lesson.path.read_text() != before:
                written.append(lesson.relative)
    return written


def _draw(diagram: Diagram, svg: Path, work: Path, mmdc: str) -> None:
    source, output = work / "diagram.mmd", work / "diagram.svg"
    source.write_text(diagram.source)
    command = [
        mmdc,
        "--quiet",
        "-p",
        str(work / "puppeteer.json"),
        "-c",
        str(work / "mermaid.json"),
    ]
    command += ["-b", "white", "-i", str(source), "-o", str(output)]
    subprocess.run(command, check=True, env=os.environ | {"PUPPETEER_SKIP_DOWNLOAD": "1"})
    svg.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"<!-- mermaid source sha256: {diagram.digest} -->\n"
    svg.write_text(stamp + output.read_text().strip() + "\n")


def _point_cells_at_images(notebook: "nbformat.NotebookNode", found: list[Diagram]) -> None:
    for index in sorted({diagram.cell for diagram in found}):
        cell = notebook.cells[index]
        pending = iter([diagram for diagram in found if diagram.cell == index])
        parts, end = [], 0
        for match in BLOCK.finditer(cell.source):
            diagram = next(pending)
            parts += [cell.source[end : match.start()], with_image(diagram, diagram.expected_alt)]
            end = match.end()
        cell.source = "".join([*parts, cell.source[end:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop.diagrams",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="only report stale images")
    parser.add_argument("--root", type=Path, default=paths.KIT_ROOT)
    args = parser.parse_args(argv)
    if args.check:
        found = problems(args.root)
        print("\n".join(found) or "Every diagram has an up-to-date image.")
        return 1 if found else 0
    mmdc = os.environ.get("MMDC") or shutil.which("mmdc")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not mmdc:
        print("mermaid-cli not found: see `python -m workshop.diagrams --help`.", file=sys.stderr)
        return 1
    for path in render(args.root, mmdc, chromium):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
