"""A small class of learners, made in the tests, graded once per session (jobs=2)."""

import copy
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from workshop import grading
from workshop.paths import KIT_ROOT

EXERCISE = "06.1"
NOTEBOOK = "06_auth.ipynb"
# Generous for the class (a loaded CI machine is slow), short for the one learner who hangs.
TIMEOUT = 180.0
HANG_TIMEOUT = 4.0

PRIVATE_CHECKS = '''
"""Private checks: graded, never shown. MARKER-PRIVATE-SOURCE"""

import httpx
import pytest


@pytest.mark.exercise("06.1", points=2)
async def test_private_count_is_an_integer(stage_client: httpx.AsyncClient) -> None:
    """MARKER-PRIVATE-DOCSTRING-ONE"""
    response = await stage_client.get("/api/v1/items/count")
    assert response.status_code == 401


@pytest.mark.exercise("06.1", points=1)
async def test_private_passwords_hash_at_the_light_cost() -> None:
    """MARKER-PRIVATE-DOCSTRING-LIGHT (workshop/light_hashing.py, in every graded run)"""
    from app.utils.security import pwd_context, verify_password

    hashed = pwd_context.hash("a-long-password")
    assert hashed.startswith("$argon2id$v=19$m=1024,t=1,p=1$"), hashed
    assert await verify_password("a-long-password", hashed)


@pytest.mark.exercise("06.1", points=1)
async def test_private_always_fails() -> None:
    """MARKER-PRIVATE-DOCSTRING-TWO"""
    assert False, "MARKER-PRIVATE-FAILURE"
'''


def notebook(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((KIT_ROOT / kind / NOTEBOOK).read_text(encoding="utf-8"))
    return data


def with_code(inserted: str) -> dict[str, Any]:
    """The solution notebook with `inserted` placed near the top of the answer's file."""
    data = copy.deepcopy(notebook("solutions"))
    for cell in data["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("%%writefile"):
            first, second, rest = source.split("\n", 2)
            cell["source"] = f"{first}\n{second}\n{inserted}\n{rest}"
            return data
    raise AssertionError("the solution notebook has no writefile cell")


def replaced(old: str, new: str) -> dict[str, Any]:
    """The solution notebook with one change in its answer (e.g. a route's method)."""
    text = json.dumps(notebook("solutions"))
    assert json.dumps(old)[1:-1] in text
    data: dict[str, Any] = json.loads(text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))
    return data


def hostile(submissions: Path) -> str:
    """At import: fork a detached sleeper, fill the disk, write into the kit, read others."""
    targets = [
        str(submissions / "alice" / "06_auth (1).ipynb"),
        str(submissions / "bob.zip"),
        str(submissions),
    ]
    kit_file = str(KIT_ROOT / "tests" / "exercises" / "checks_06_auth.py")
    return f"""
import os as _os, signal as _signal
_pid = _os.fork()
if _pid == 0:  # a daemon: its own session, no inherited pipes, outliving its parent
    _os.setsid()
    _os.closerange(0, 1024)
    import time as _time
    _time.sleep(600)
    _os._exit(0)
_signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
_leaks, _blocked = [], 0
try:
    with open(_os.path.join(_os.environ["HOME"], "fill"), "wb") as _f:
        for _ in range(400):
            _f.write(b"x" * 1024 * 1024)
except OSError:
    _blocked += 1
for _target in {targets!r}:
    try:
        if _os.path.isdir(_target):
            _found = [n for n in _os.listdir(_target) if "kit-grading" in n or "alice" in n]
            if _found:
                _leaks.append(_target + ": " + ",".join(_found))
            else:
                _blocked += 1
        else:
            open(_target, "rb").read(10)
            _leaks.append(_target)
    except OSError:
        _blocked += 1
_job = _os.path.dirname(_os.environ["HOME"])
try:
    _others = [n for n in _os.listdir(_os.path.dirname(_job)) if n != _os.path.basename(_job)]
    if _others:
        _leaks.append("other jobs: " + ",".join(_others))
    else:
        _blocked += 1
except OSError:
    _blocked += 1
try:
    with open({kit_file!r}, "a") as _f:
        _f.write("# tampered")
    _leaks.append("kit written")
except OSError:
    _blocked += 1
raise RuntimeError(("LEAKED " + "; ".join(_leaks)) if _leaks else f"sealed {{_blocked}}")
"""


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def make_class(submissions: Path) -> None:
    submissions.mkdir()
    (submissions / "alice").mkdir()
    (submissions / "alice" / "06_auth (1).ipynb").write_text(
        json.dumps(notebook("solutions")), encoding="utf-8"
    )  # renamed: matched by the ids in its metadata
    write_zip(submissions / "bob.zip", {"bob/06_auth.ipynb": json.dumps(notebook("exercises"))
                                        .encode()})  # fmt: skip
    (submissions / "carol").mkdir()
    (submissions / "carol" / NOTEBOOK).write_text(
        json.dumps(with_code("def broken(:\n    pass")), encoding="utf-8"
    )
    (submissions / "erin").mkdir()
    (submissions / "erin" / NOTEBOOK).write_text("this is not a notebook", encoding="utf-8")
    (submissions / "mallory").mkdir()
    (submissions / "mallory" / NOTEBOOK).write_text(
        json.dumps(with_code(hostile(submissions))), encoding="utf-8"
    )
    (submissions / "rita").mkdir()  # the exercise right, PATCH /items/{id} broken
    (submissions / "rita" / NOTEBOOK).write_text(
        json.dumps(replaced('@router.patch("/{item_id}"', '@router.put("/{item_id}"')),
        encoding="utf-8",
    )
    (submissions / "sam").mkdir()
    (submissions / "sam" / NOTEBOOK).write_text(
        json.dumps(with_code("import sys\nsys.exit(0)")), encoding="utf-8"
    )


def fingerprint(root: Path) -> dict[str, tuple[str, int, float]]:
    """Every file under root: content hash, mode and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        if ".venv" in path.parts or "__pycache__" in path.parts or ".git" in path.parts:
            continue
        if path.is_file():
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (digest, info.st_mode, info.st_mtime)
    return found


class Graded:
    def __init__(self, root: Path) -> None:
        self.submissions = root / "submissions"
        self.out = root / "out"
        self.checks = root / "private"
        make_class(self.submissions)
        self.checks.mkdir()
        (self.checks / "checks_06_auth.py").write_text(PRIVATE_CHECKS, encoding="utf-8")
        self.submissions_before = fingerprint(self.submissions)
        self.kit_before = fingerprint(KIT_ROOT / "tests") | fingerprint(KIT_ROOT / "workshop")
        self.result = grading.grade(KIT_ROOT, self.submissions, self.out, jobs=2,
                                    timeout=TIMEOUT, checks=self.checks,
                                    only=[EXERCISE])  # fmt: skip
        self.by = {(g.learner, g.exercise): g for g in self.result.results}


@pytest.fixture(scope="session")
def hung(tmp_path_factory: pytest.TempPathFactory) -> grading.Grading:
    """dave's answer sleeps at import: graded alone with a short limit."""
    root = tmp_path_factory.mktemp("hung")
    (root / "submissions" / "dave").mkdir(parents=True)
    (root / "submissions" / "dave" / "mine.ipynb").write_text(
        json.dumps(with_code("import time\ntime.sleep(600)")), encoding="utf-8"
    )
    return grading.grade(KIT_ROOT, root / "submissions", root / "out", jobs=1,
                         timeout=HANG_TIMEOUT, only=[EXERCISE])  # fmt: skip


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory.mktemp("grading"))
