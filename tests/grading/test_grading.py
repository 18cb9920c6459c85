"""`workshop grade` on a small class made here: outcomes, isolation, files in OUT."""

import csv
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.grading.conftest import (
    EXERCISE,
    HANG_TIMEOUT,
    Graded,
    fingerprint,
    notebook,
    with_code,
)
from workshop import exercises, grading
from workshop.grading_sandbox import FIRST_UID, MARKER_ENV, UID_BLOCK, UID_BLOCKS, Sandbox
from workshop.paths import KIT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PRIVATE_WORDS = ("MARKER-PRIVATE", "test_private_")


def status(graded: Graded, learner: str) -> str:
    return graded.by[(learner, EXERCISE)].status


def test_the_solution_gets_every_public_point_and_a_renamed_file_counts(graded: Graded) -> None:
    alice = graded.by[("alice", EXERCISE)]
    public = [c for c in alice.checks if not c.private]
    assert public and all(c.passed for c in public)
    assert alice.notebook == "06_auth (1).ipynb"
    [signal] = graded.result.stages["alice"]
    assert (signal.stage, signal.failed, signal.problem) == (6, [], "")
    assert signal.passed > 0


def test_a_learner_who_broke_the_stage_is_told(graded: Graded) -> None:
    [signal] = graded.result.stages["rita"]
    assert signal.stage == 6 and signal.failed, signal
    rita = graded.by[("rita", EXERCISE)]
    assert all(c.passed for c in rita.checks if not c.private)  # the exercise itself works
    text = (graded.out / "feedback" / "rita.md").read_text(encoding="utf-8")
    assert "stage 06: your answers broke" in text


def test_private_checks_are_applied(graded: Graded) -> None:
    alice = graded.by[("alice", EXERCISE)]
    private = {c.name: c.passed for c in alice.checks if c.private}
    assert private == {
        "test_private_count_is_an_integer": True,
        # Graded runs hash at argon2's lightest cost, the learner's code untouched.
        "test_private_passwords_hash_at_the_light_cost": True,
        "test_private_always_fails": False,
    }
    public_points = sum(c.max_points for c in alice.checks if not c.private)
    assert (alice.points, alice.max_points) == (public_points + 3, public_points + 4)
    assert alice.status == "partial"


def test_stubs_score_zero_as_not_attempted(graded: Graded) -> None:
    bob = graded.by[("bob", EXERCISE)]
    assert (bob.status, bob.points) == ("not attempted", 0)


def test_each_failure_kind_has_its_word(graded: Graded) -> None:
    carol = graded.by[("carol", EXERCISE)]
    assert carol.status == "does not run"
    assert "app/routers/items.py, line 2" in carol.detail and "SyntaxError" in carol.detail
    assert status(graded, "erin") == "unreadable"
    assert "not a notebook" in graded.by[("erin", EXERCISE)].detail
    assert status(graded, "sam") == "does not run"  # sys.exit at import
    for learner in ("carol", "erin", "mallory", "sam"):
        assert graded.by[(learner, EXERCISE)].points == 0


def test_a_hang_at_import_is_timed_out_within_its_limit(hung: grading.Grading) -> None:
    [dave] = hung.results
    assert (dave.status, dave.points) == ("timed out", 0)
    assert "stopped after" in dave.detail
    assert dave.seconds < HANG_TIMEOUT * 1.5 + 30


def test_a_hanging_job_gives_its_core_to_the_next_one(tmp_path: Path) -> None:
    """One core (jobs=1): dave's answer sleeps at import, erin's is the solution. dave's job
    goes idle, gives up the core, and erin is graded while dave waits out his limit."""
    timeout = 20.0
    for learner, answer in (("dave", with_code("import time\ntime.sleep(600)")),
                            ("erin", notebook("solutions"))):  # fmt: skip
        (tmp_path / "in" / learner).mkdir(parents=True)
        (tmp_path / "in" / learner / "06_auth.ipynb").write_text(json.dumps(answer))
    finished: list[str] = []
    result = grading.grade(KIT_ROOT, tmp_path / "in", tmp_path / "out", jobs=1,
                           timeout=timeout, only=[EXERCISE], progress=lambda g: finished.append(
                               f"{g.learner} {g.status}"))  # fmt: skip
    assert finished == ["erin passed", "dave timed out"], "erin waited for dave's hang to end"
    assert {g.learner: g.status for g in result.results} == {"dave": "timed out", "erin": "passed"}


def test_a_hostile_submission_reads_nothing_and_writes_nothing_outside(graded: Graded) -> None:
    mallory = graded.by[("mallory", EXERCISE)]
    assert mallory.status == "does not run"
    assert "LEAKED" not in mallory.detail, mallory.detail
    if os.geteuid() == 0:  # as root each job is its own uid behind mount namespaces
        assert "sealed" in mallory.detail, mallory.detail


def test_checkout_and_submissions_are_unchanged(graded: Graded) -> None:
    assert fingerprint(graded.submissions) == graded.submissions_before
    after = fingerprint(KIT_ROOT / "tests") | fingerprint(KIT_ROOT / "workshop")
    assert after == graded.kit_before


def test_no_process_is_left_behind(graded: Graded) -> None:
    assert graded.result.results  # grading ran (and mallory forked a detached sleeper)
    for _ in range(40):  # a process just killed may be a zombie for a moment
        left = leftovers()
        if not left:
            break
        time.sleep(0.05)
    assert left == []


def leftovers() -> list[tuple[str, int]]:
    """Processes of this test process's graders (their marker names its pid), and processes
    of the job uids of every uid block that no grader holds now (another test process may be
    grading beside this one: its jobs are not left over)."""
    idle: set[int] = set()
    locks = []
    try:
        for block in range(UID_BLOCKS):
            base = FIRST_UID + block * UID_BLOCK
            handle = open(Path(tempfile.gettempdir()) / f"kit-grading-uids-{base}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            locks.append(handle)
            idle.update(range(base, base + UID_BLOCK))
        mine = (
            f"{MARKER_ENV}={os.getpid()}-".encode(),
            f"{MARKER_ENV}=zygote-{os.getpid()}-".encode(),
        )
        left = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                status_text = Path(f"/proc/{name}/status").read_text()
                environ = Path(f"/proc/{name}/environ").read_bytes()
            except OSError:
                continue
            uid = int(next(x for x in status_text.splitlines() if x.startswith("Uid:")).split()[1])
            if uid in idle or any(e.startswith(mine) for e in environ.split(b"\0")):
                left.append((name, uid))
        return left
    finally:
        for handle in locks:
            handle.close()


def test_grades_csv_has_exactly_the_tidy_columns(graded: Graded) -> None:
    with (graded.out / "grades.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["learner", "exercise", "status", "points", "max_points"]
    learners = {row[0] for row in rows[1:]}
    assert learners == {"alice", "bob", "carol", "erin", "mallory", "rita", "sam"}
    assert rows[2][:4] == ["bob", EXERCISE, "not attempted", "0"]
    with (graded.out / "summary.csv").open(encoding="utf-8") as handle:
        summary = list(csv.DictReader(handle))
    assert list(summary[0]) == ["learner", "points", "max_points", EXERCISE]
    alice = next(r for r in summary if r["learner"] == "alice")
    assert alice["points"] == alice[EXERCISE] == str(graded.by[("alice", EXERCISE)].points)


def test_feedback_says_each_check_and_never_a_private_one(graded: Graded) -> None:
    text = (graded.out / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "✓ GET /api/v1/items/count" in text
    assert "instructor's private checks: 2 of 3 pass" in text
    carol = (graded.out / "feedback" / "carol.md").read_text(encoding="utf-8")
    assert "does not run" in carol and "line 2" in carol and "✗" in carol
    check_source = (KIT_ROOT / "tests" / "exercises" / "checks_06_auth.py").read_text()
    for path in [*graded.out.rglob("*.md"), *graded.out.rglob("*.json"),
                 graded.out / "report.html"]:  # fmt: skip
        written = path.read_text(encoding="utf-8")
        assert not any(word in written for word in PRIVATE_WORDS), path
        assert "async def test_" not in written and "assert response" not in written
        assert check_source[:200] not in written


def test_results_json_validates_against_the_documented_schema(graded: Graded) -> None:
    import jsonschema

    schema = json.loads((KIT_ROOT / "workshop" / "grading_results.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for learner in ("alice", "bob", "carol", "erin", "mallory", "rita", "sam"):
        data = json.loads((graded.out / "results" / f"{learner}.json").read_text())
        jsonschema.validate(data, schema)
    alice = json.loads((graded.out / "results" / "alice.json").read_text())
    assert alice["score"] == graded.by[("alice", EXERCISE)].points
    assert sum(t["score"] for t in alice["tests"]) == alice["score"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [{"name": "x"}]}, schema)


def test_the_command_line_writes_every_file(tmp_path: Path) -> None:
    submissions = tmp_path / "subs"
    (submissions / "erin").mkdir(parents=True)
    (submissions / "erin" / "06_auth.ipynb").write_text("{}", encoding="utf-8")
    (submissions / "zoe").mkdir()  # handed in nothing
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "workshop", "grade", str(submissions), "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "2 learners" in run.stdout
    for name in ("grades.csv", "summary.csv", "report.html", "feedback/zoe.md",
                 "results/erin.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert "zoe,06.1,not attempted,0" in (out / "grades.csv").read_text()
    rows = (out / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * len(exercises.catalog(KIT_ROOT))  # every exercise by default

    some = tmp_path / "some"
    command = [sys.executable, "-m", "workshop", "grade", str(submissions), "--out", str(some)]
    run = subprocess.run([*command, "--exercise", "06.1", "--exercise", "07.2"],
                         capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    graded = {tuple(row.split(",")[:2]) for row in (some / "grades.csv").read_text().splitlines()}
    assert graded - {("learner", "exercise")} == {
        (learner, exercise) for learner in ("erin", "zoe") for exercise in ("06.1", "07.2")
    }
    run = subprocess.run([*command, "--exercise", "99.9"], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert run.returncode == 2 and "no exercise 99.9 in this course" in run.stderr


async def test_the_report_shows_the_matrix_in_a_browser(graded: Graded) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = await browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        await page.goto((graded.out / "report.html").as_uri())
        cells = await page.eval_on_selector_all(
            "#matrix tbody td[data-status]",
            "cells => cells.map(c => [c.closest('tr').dataset.learner, c.dataset.status,"
            " getComputedStyle(c).backgroundColor])",
        )
        failing = await page.inner_text("#failing")
        timing = await page.inner_text("#timing")
        await browser.close()
    seen = {learner: state for learner, state, _ in cells}
    assert seen == {g.learner: g.status for g in graded.result.results}
    colours = {state: colour for _, state, colour in cells}
    assert len(set(colours.values())) == len(colours)  # one colour per outcome
    assert "7 learners" in timing and "graded in" in timing
    assert "GET /api/v1/items/count" in failing or "No check failed" in failing
    assert all(url.startswith("file://") for url in requested), requested


@pytest.mark.skipif(os.geteuid() != 0, reason="job uids are used as root only")
def test_two_graders_at_once_never_share_a_job_uid(tmp_path: Path) -> None:
    """A grader kills what is left of a job by its uid: a `progress` run beside a `grade`
    run must not be given the same uids, or each would kill the other's jobs."""
    first, second = Sandbox([tmp_path]), Sandbox([tmp_path])
    try:
        uids = [first.uid(slot) for slot in range(4)] + [second.uid(slot) for slot in range(4)]
        assert len(set(uids)) == 8
    finally:
        first.close()
    third = Sandbox([tmp_path])  # the first one's block is free again
    try:
        assert third.uid(0) == first.uid(0)
    finally:
        second.close()
        third.close()


def test_jobs_keep_the_kit_they_import_in_sight() -> None:
    """A job runs `python -m workshop.grading_job`: the kit's folder stays visible in the job's
    mount namespace even when the caller keeps nothing (a kit cloned under /tmp would vanish
    with the job's private /tmp, and every job would fail to start)."""
    box = Sandbox([])
    try:
        assert str(KIT_ROOT.resolve()) in box.keep
        if os.geteuid() == 0:
            assert box.namespaces, "a probe job could not start in its namespaces"
    finally:
        box.close()
