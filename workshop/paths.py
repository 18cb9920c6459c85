"""Where things are: the workspace root, its lessons and its stage tests."""

from pathlib import Path

from workshop.notebooks import Lesson, find_lessons

KIT_ROOT = Path(__file__).resolve().parents[1]


def is_workspace(path: Path) -> bool:
    return bool(find_lessons(path / "notebooks")) if (path / "notebooks").is_dir() else False


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) that holds notebooks/ lessons."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_workspace(candidate):
            return candidate
    if is_workspace(KIT_ROOT):
        return KIT_ROOT
    raise FileNotFoundError(f"no notebooks/ folder with lessons at or above {here}")


def lessons(root: Path) -> list[Lesson]:
    return find_lessons(root / "notebooks")


def stage_tests_dir(root: Path) -> Path:
    """The workspace's stage tests, or the kit's own when the workspace has none."""
    own = root / "tests" / "stages"
    return own if own.is_dir() else KIT_ROOT / "tests" / "stages"
