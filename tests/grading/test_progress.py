"""`workshop progress` on workspaces collected mid-workshop: learners x stages, sandboxed."""

import io
import zipfile
from pathlib import Path

from tests.grading.conftest import fingerprint
from workshop import build, paths, progress


def test_progress_shows_each_learner_s_stage(tmp_path: Path) -> None:
    submissions = tmp_path / "workspaces"
    lessons = paths.lessons(paths.KIT_ROOT)
    finished = submissions / "fiona" / "fastapi-workshop"  # a workspace one folder down
    finished.mkdir(parents=True)
    build.write(build.replay(lessons), finished)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in build.replay(lessons, 5).items():
            archive.writestr(f"gus/{name}", content)
    (submissions / "gus.zip").write_bytes(buffer.getvalue())
    (submissions / "hana").mkdir()  # a workspace without app/ yet
    before = fingerprint(submissions)

    table = progress.progress(paths.KIT_ROOT, submissions, jobs=2, timeout=300)

    rows = {row.learner: row for row in table.rows}
    assert table.stages == sorted(rows["fiona"].stages)
    assert all(passed == total > 0 for passed, total in rows["fiona"].stages.values())
    gus = rows["gus"].stages
    assert all(gus[n][0] == gus[n][1] > 0 for n in range(1, 6))
    assert all(gus[n][0] < gus[n][1] for n in table.stages if n > 5)
    assert rows["hana"].problem == "no app/ in this workspace"
    text = progress.format_table(table)
    assert text.splitlines()[0].split() == ["learner", *(f"{n:02d}" for n in table.stages)]
    assert "✓" in text.splitlines()[1] and "✗" in text
    assert fingerprint(submissions) == before
