"""Where things are: the workspace root, its lessons and its stage tests."""

from pathlib import Path

from workshop.notebooks import Lesson, find_lessons

KIT_ROOT = Path(__file__).resolve().parents[1]


class NotAWorkspace(FileNotFoundError):
    """Raised outside a workspace: nothing is guessed, nothing is written elsewhere."""


def is_workspace(path: Path) -> bool:
    return bool(find_lessons(path / "notebooks")) if (path / "notebooks").is_dir() else False


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) that holds notebooks/ lessons.

    There is no fallback: run from the kit's checkout or from a workspace made with
    `workshop start DIR` (anywhere inside either works).
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_workspace(candidate):
            return candidate
    raise NotAWorkspace(
        f"{here} is not inside a workspace (no notebooks/ folder with lessons at or above it). "
        "Run this from the kit's checkout or from a workspace; make one with "
        "`workshop start DIR`."
    )


def lessons(root: Path) -> list[Lesson]:
    return find_lessons(root / "notebooks")


def stage_tests_dir(root: Path) -> Path:
    """The workspace's stage tests, or the kit's own when the workspace has none."""
    own = root / "tests" / "stages"
    return own if own.is_dir() else KIT_ROOT / "tests" / "stages"
