"""Exercises: the catalog, exercises/ generated from solutions/, and every outcome of a check.

For every exercise: the solution passes each check; the stub is "not attempted" with 0 points;
a syntax error is "does not run" (file and line); a time.sleep at import is "timed out" within
the limit; one check broken on purpose fails with what it expects shown. Each exercise's runs go
in parallel subprocesses, on one shared prepared app copy per lesson.
"""

import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from workshop import exercises, runner
from workshop.paths import KIT_ROOT

CATALOG = exercises.catalog(KIT_ROOT)
IDS = [e.id for e in CATALOG]
SOLUTIONS = KIT_ROOT / "solutions"
HANG = 3.0  # seconds: the limit for the runs that hang on purpose

# Per exercise: (file, text in the solution, replacement, the check that must then fail).
BREAKS = {
    "01.1": ("app/config.py", "admin_email: EmailStr | None", "admin_email: str | None",
             "test_a_malformed_admin_email_is_refused"),
    "01.2": ("app/settings_report.py", "hide_password=True", "hide_password=False",
             "test_describe_masks_the_database_password"),
    "02.1": ("app/models/item.py", "is_done: Mapped[bool]", "is_done: Mapped[bool | None]",
             "test_items_have_a_non_null_is_done_column"),
    "02.2": ("app/models/tag.py", "String(50), unique=True", "String(50)",
             "test_tag_names_are_unique"),
    "03.1": ("app/schemas/item.py", "return value or None", "return value",
             "test_an_empty_description_is_none"),
    "03.2": ("app/schemas/page.py", "self.skip + len(self.items)", "len(self.items)",
             "test_has_more_says_whether_items_remain"),
    "04.1": ("app/services/item_service.py", "len(owned) >= ITEM_QUOTA", "len(owned) > ITEM_QUOTA",
             "test_one_more_raises_quota_exceeded"),
    "04.2": ("app/services/user_service.py", "token_generation=user.token_generation + 1",
             "token_generation=user.token_generation", "test_earlier_tokens_are_revoked"),
    "05.1": ("app/routers/users.py", '"available": taken is None', '"available": True',
             "test_a_registered_name_is_taken"),
    "05.2": ("app/request_id.py", "sent if SANE.match(sent) else", "sent or",
             "test_an_odd_client_id_is_replaced"),
    "06.1": ("app/routers/items.py", "limit=1_000_000))}", "limit=1_000_000)) + 1}",
             "test_count_of_a_new_user_is_zero"),
    "06.2": ("app/routers/search.py", "Query(min_length=2,", "Query(min_length=1,",
             "test_search_text_is_2_to_50_characters"),
    "07.1": ("app/routers/items.py", "if wanted in (i.tags", "if wanted not in (i.tags",
             "test_tagged_lists_the_callers_items_with_the_tag"),
    "07.2": ("app/services/item_service.py",
             'await self.cache.invalidate(cache_key("item-count", item.owner_id))', "pass",
             "test_creating_and_deleting_show_at_once"),
    "08.1": ("app/routers/ws.py", 'event("typing", room, user.username))',
             'event("message", room, user.username, "typing"))', "test_others_see_typing"),
    "08.2": ("app/routers/rooms.py", "sorted({member.user for member in members})",
             "sorted(member.user for member in members)",
             "test_connected_users_are_listed_once_and_sorted"),
    "09.1": ("app/routers/users.py", 'PermissionDenied("Current password is wrong") from None',
             "InvalidCredentials", "test_a_wrong_current_password_is_403_and_changes_nothing"),
    "09.2": ("app/routers/notifications.py", "for user in page if user.is_active]",
             "for user in page]", "test_deactivated_accounts_get_nothing"),
    "10.1": ("alembic/versions/0003_display_name.py", 'op.drop_column("users", "display_name")',
             "pass", "test_downgrade_removes_it_and_keeps_the_data"),
    "10.2": ("app/migration_status.py", "if revision not in done]", "if revision in done]",
             "test_nothing_is_pending_after_upgrade_head"),
}  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """One prepared reference app per lesson, copied by each run."""
    apps = {}
    for exercise in CATALOG:
        if exercise.lesson not in apps:
            dest = tmp_path_factory.mktemp(f"reference_{exercise.lesson:02d}")
            runner.prepare_app(KIT_ROOT, exercise, dest)
            apps[exercise.lesson] = dest
    return apps


def _copy(reference: dict[int, Path], exercise: exercises.Exercise, dest: Path) -> Path:
    shutil.copytree(reference[exercise.lesson], dest)
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer contains {old!r}: update BREAKS"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_exercise_has_its_outcome_tests() -> None:
    """At least 20 exercises, each lesson 01-10 has one, each has checks and a planned break."""
    assert len(CATALOG) >= 20
    assert {e.lesson for e in CATALOG} >= set(range(1, 11))
    assert set(BREAKS) == set(IDS)
    for exercise in CATALOG:
        assert exercise.checks >= 3 and exercise.points >= exercise.checks, exercise
        assert exercise.files and all(count for _, count in exercise.stubs), exercise


def test_check_files_are_parsed_one_at_a_time() -> None:
    """Graders read check files from several threads, and CPython 3.11's ast module is not
    thread-safe (a parse can fail with "AST constructor recursion depth mismatch" when another
    thread parses meanwhile; seen under load in CI): `read_checks` parses under one lock."""
    check_file = KIT_ROOT / "tests" / "exercises" / "checks_04_services.py"
    with ThreadPoolExecutor(max_workers=1) as pool:
        with exercises._PARSING:
            pending = pool.submit(exercises.read_checks, check_file)
            done, _ = wait([pending], timeout=0.5)
            assert not done, "read_checks parsed while another parse held the lock"
        assert [c.exercise for c in pending.result(timeout=30)][:1] == ["04.1"]


def test_exercises_in_one_notebook_write_different_files() -> None:
    """An exercise notebook's app copy holds all its answers at once: none overwrites another."""
    seen: dict[tuple[str, str], str] = {}
    for exercise in CATALOG:
        for path in exercise.files:
            other = seen.setdefault((exercise.notebook, path), exercise.id)
            assert other == exercise.id, f"{exercise.id} and {other} both write {path}"


@pytest.mark.parametrize("ident", IDS)
def test_outcomes(ident: str, reference: dict[int, Path], tmp_path: Path) -> None:
    """Solution: passed; stub: not attempted; syntax error: does not run; a hang: timed out;
    one answer broken on purpose: its check fails, with what it expects shown."""
    exercise = exercises.find(KIT_ROOT, ident)
    notebook = SOLUTIONS / exercise.notebook
    first = exercise.files[0]

    dests = {}
    for name in ("solution", "stub", "syntax", "hang", "broken"):
        dests[name] = _copy(reference, exercise, tmp_path / name)
        source = KIT_ROOT / "exercises" / exercise.notebook if name == "stub" else notebook
        assert runner.apply_answers(source, ident, dests[name]) is (name != "stub")
    with (dests["syntax"] / first).open("a", encoding="utf-8") as file:
        file.write("\ndef broken(:\n    pass\n")
    with (dests["hang"] / first).open("a", encoding="utf-8") as file:
        file.write("\nimport time\ntime.sleep(120)\n")
    path, old, new, check = BREAKS[ident]
    _edit(dests["broken"] / path, old, new)
    limits = {"solution": 120.0, "stub": 30.0, "syntax": 60.0, "hang": HANG, "broken": 120.0}
    with ThreadPoolExecutor(max_workers=len(dests)) as pool:
        futures = {
            name: pool.submit(
                runner.run_checks, dest, exercise, timeout=limits[name], regressions=False
            )
            for name, dest in dests.items()
        }
        outcomes = {name: future.result() for name, future in futures.items()}

    passed = outcomes["solution"]
    assert passed.status == "passed", runner.format_outcome(passed)
    assert passed.points == passed.max_points == exercise.points
    assert len(passed.checks) == exercise.checks

    stub = outcomes["stub"]
    assert (stub.status, stub.points) == ("not attempted", 0), runner.format_outcome(stub)

    syntax = outcomes["syntax"]
    assert syntax.status == "does not run", runner.format_outcome(syntax)
    line = len((dests["syntax"] / first).read_text(encoding="utf-8").splitlines()) - 1
    assert f"{first}, line {line}" in syntax.detail and "SyntaxError" in syntax.detail
    assert syntax.points == 0

    hang = outcomes["hang"]
    assert hang.status == "timed out", runner.format_outcome(hang)
    assert hang.seconds < HANG + 10, f"a hang cost {hang.seconds:.1f} s"
    assert "stopped after 3 s" in hang.detail

    broken = outcomes["broken"]
    assert broken.status in {"failed", "partial"}, runner.format_outcome(broken)
    failed = {c.name: c for c in broken.checks if not c.passed}
    assert check in failed, f"{check} did not fail: {runner.format_outcome(broken)}"
    shown = runner.format_outcome(broken)
    assert f"✗ {failed[check].expects}" in shown and failed[check].failure in shown
    assert "hints" in shown
    for outcome in outcomes.values():
        _assert_no_test_code(runner.format_outcome(outcome), exercise)


def _assert_no_test_code(shown: str, exercise: exercises.Exercise) -> None:
    """What a learner reads never quotes the check file's code."""
    assert exercise.check_file is not None
    for line in exercise.check_file.read_text(encoding="utf-8").splitlines():
        code = line.strip()
        if len(code) > 30 and not code.startswith(('"""', "assert", 'f"', '"')):
            assert code not in shown, f"the report quotes the check code: {code}"


# Two different correct answers to one exercise pass the same checks.
ALTERNATIVES = {
    "06.1": (
        "app/routers/items.py",
        """
from app.dependencies import SessionDep  # noqa: E402


@router.get("/count", responses=error_responses(401))
async def count_items(actor: CurrentUser, session: SessionDep) -> dict[str, int]:
    from sqlalchemy import func, select

    from app.models import Item

    query = select(func.count(Item.id))
    if not actor.is_superuser:
        query = query.where(Item.owner_id == actor.id)
    return {"count": (await session.execute(query)).scalar_one()}
""",
    ),
    "01.1": (
        "app/config.py",
        """
admin_email: str | None = None

@field_validator("admin_email")
@classmethod
def _check_admin_email(cls, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[^@\\s]+@[^@\\s]+\\.[^@\\s]+", value):
        raise ValueError("ADMIN_EMAIL is not an e-mail address")
    return value
""",
    ),
}


def _replace_regions(text: str, answer: str, indent: str) -> str:
    """text with its last solution region replaced by answer (the others dropped)."""
    pattern = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?### END SOLUTION\n", re.M | re.S)
    regions = pattern.findall(text)
    body = "".join(indent + line if line.strip() else line for line in answer.splitlines(True))
    for region in regions[:-1]:
        text = text.replace(region, "", 1)
    return text.replace(regions[-1], body.lstrip("\n"), 1)


@pytest.mark.parametrize("ident", sorted(ALTERNATIVES))
def test_a_different_correct_answer_passes_too(
    ident: str, reference: dict[int, Path], tmp_path: Path
) -> None:
    exercise = exercises.find(KIT_ROOT, ident)
    path, answer = ALTERNATIVES[ident]
    dest = _copy(reference, exercise, tmp_path / "app")
    runner.apply_answers(SOLUTIONS / exercise.notebook, ident, dest)
    target = dest / path
    text = target.read_text(encoding="utf-8")
    indent = "    " if ident == "01.1" else ""
    if ident == "01.1":
        text = "import re\n" + text
    target.write_text(_replace_regions(text, answer, indent), encoding="utf-8")
    assert "EmailStr" not in target.read_text() or ident != "01.1"
    outcome = runner.run_checks(dest, exercise, timeout=120, regressions=False)
    assert outcome.status == "passed", runner.format_outcome(outcome)


def test_a_regression_in_the_stage_is_reported_in_words(
    reference: dict[int, Path], tmp_path: Path
) -> None:
    """An answer that breaks what lesson 06 promises: "stage 06: ..." among the regressions."""
    exercise = exercises.find(KIT_ROOT, "06.1")
    dest = _copy(reference, exercise, tmp_path / "app")
    runner.apply_answers(SOLUTIONS / exercise.notebook, "06.1", dest)
    _edit(dest / "app/routers/items.py", '@router.patch("/{item_id}"', '@router.put("/{item_id}"')
    outcome = runner.run_checks(dest, exercise, timeout=120)
    assert outcome.status == "passed", runner.format_outcome(outcome)
    assert outcome.regressions and all(r.startswith("stage 06: ") for r in outcome.regressions)
    assert "Your change broke stage 06: " in runner.format_outcome(outcome)


def test_a_sleep_in_a_route_is_timed_out_and_the_group_killed(
    reference: dict[int, Path], tmp_path: Path
) -> None:
    """A time.sleep inside a route (run in a thread pytest cannot stop) costs only the limit."""
    exercise = exercises.find(KIT_ROOT, "06.1")
    dest = _copy(reference, exercise, tmp_path / "app")
    runner.apply_answers(SOLUTIONS / exercise.notebook, "06.1", dest)
    _edit(
        dest / "app/routers/items.py",
        '    """How many items the caller may see."""',
        '    """How many items the caller may see."""\n    import time\n\n    time.sleep(300)',
    )
    outcome = runner.run_checks(dest, exercise, timeout=15, regressions=False)
    assert outcome.status == "timed out", runner.format_outcome(outcome)
    assert outcome.seconds < 25
    hung = [c for c in outcome.checks if c.failure.startswith("still running after 15 s")]
    assert len(hung) == 1, runner.format_outcome(outcome)
    # The killed group leaves no pytest behind working on this copy.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert str(dest) not in ps.stdout


# ---------------------------------------------------------------- generated notebooks


def test_exercises_build_check_passes_on_the_kit() -> None:
    """exercises/ is exactly what solutions/ generates, and the solutions are up to date."""
    run = subprocess.run(
        [sys.executable, "-m", "workshop", "exercises", "build", "--check"],
        cwd=KIT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def _kit_copy(tmp_path: Path) -> Path:
    kit = tmp_path / "kit"
    for folder in ("notebooks", "solutions", "exercises"):
        shutil.copytree(KIT_ROOT / folder, kit / folder)
    return kit


def test_exercises_build_check_names_each_differing_notebook(tmp_path: Path) -> None:
    kit = _kit_copy(tmp_path)
    changed = kit / "exercises" / "06_auth.ipynb"
    changed.write_text(changed.read_text(encoding="utf-8").replace("Count my items", "x"))
    (kit / "exercises" / "03_schemas.ipynb").unlink()
    before = {p.name: p.read_bytes() for p in (kit / "exercises").iterdir()}
    command = [sys.executable, "-m", "workshop", "exercises", "build"]
    run = subprocess.run([*command, "--check"], cwd=kit, capture_output=True, text=True)
    assert run.returncode == 1
    assert "exercises/06_auth.ipynb" in run.stdout and "exercises/03_schemas.ipynb" in run.stdout
    assert "exercises/01_config.ipynb" not in run.stdout
    assert {p.name: p.read_bytes() for p in (kit / "exercises").iterdir()} == before
    assert subprocess.run(command, cwd=kit, capture_output=True).returncode == 0
    again = subprocess.run([*command, "--check"], cwd=kit, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout


@pytest.mark.parametrize("name", sorted(p.name for p in SOLUTIONS.glob("*.ipynb")))
def test_an_exercise_notebook_holds_no_solution(name: str) -> None:
    solution = json.loads((SOLUTIONS / name).read_text(encoding="utf-8"))
    text = (KIT_ROOT / "exercises" / name).read_text(encoding="utf-8")
    notebook = json.loads(text)
    # What the author shows on purpose: statements, hints, the lesson code around the answers.
    shown = "".join(exercises.stub("".join(cell["source"])) for cell in solution["cells"])
    for cell in solution["cells"]:
        for region in exercises.solution_regions("".join(cell["source"])):
            for line in region.splitlines():
                code = line.strip()
                plain = len(code) > 12 and not code.startswith(("from ", "import ", "#"))
                if plain and code not in shown:
                    assert json.dumps(code)[1:-1] not in text, f"{name} shows: {code}"
    assert "BEGIN SOLUTION" not in text
    for cell in notebook["cells"]:
        assert cell.get("outputs", []) == [] and "attachments" not in cell
        assert set(cell["metadata"]) <= {"exercise"}
        if cell["cell_type"] == "code" and "%%writefile" in "".join(cell["source"]):
            assert exercises.STUB_MARKER in "".join(cell["source"])
    assert set(notebook["metadata"]) <= {"kernelspec", "language_info"}
    ids = [exercises.exercise_id(c) for c in notebook["cells"]]
    assert [i for i in dict.fromkeys(ids) if i] == exercises.exercise_ids(SOLUTIONS / name)


def test_a_renamed_notebook_is_recognised_by_its_ids(
    reference: dict[int, Path], tmp_path: Path
) -> None:
    renamed = tmp_path / "06_auth (1).ipynb"
    shutil.copy2(SOLUTIONS / "06_auth.ipynb", renamed)
    assert exercises.exercise_ids(renamed) == ["06.1", "06.2"]
    exercise = exercises.find(KIT_ROOT, "06.1")
    dest = _copy(reference, exercise, tmp_path / "app")
    assert runner.apply_answers(renamed, "06.1", dest)
    assert not runner.untouched(dest, exercise)


def test_exercises_list_json() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "workshop", "exercises", "list", "--json"],
        cwd=KIT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = json.loads(run.stdout)
    assert [r["id"] for r in rows] == IDS
    first = rows[0]
    assert set(first) >= {"id", "lesson", "title", "points", "checks"}
    assert first["points"] == CATALOG[0].points and first["checks"] == CATALOG[0].checks
    table = subprocess.run(
        [sys.executable, "-m", "workshop", "exercises", "list"],
        cwd=KIT_ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert all(e.title in table for e in CATALOG)


# ---------------------------------------------------------------- solutions follow the lessons


def test_rebase_moves_an_answer_with_its_anchor() -> None:
    old = "a\nb\nc\nd\n"
    solution = "a\nb\n### BEGIN SOLUTION\nanswer\n### END SOLUTION\nc\nd\n"
    new = "header\na\nnew line\nb\nc\nd\nmore\n"
    rebased = exercises.rebase(solution, new)
    assert (
        rebased
        == "header\na\nnew line\nb\n### BEGIN SOLUTION\nanswer\n### END SOLUTION\nc\nd\nmore\n"
    )
    assert exercises.rebase(solution, old) == solution
    outside, _ = exercises.scaffold(rebased)
    assert "".join(outside) == new


def test_rebase_refuses_when_the_anchor_is_gone() -> None:
    solution = "a\n### BEGIN SOLUTION\nx\n### END SOLUTION\nb\n"
    with pytest.raises(exercises.StaleSolution):
        exercises.rebase(solution, "completely\ndifferent\n")


def test_a_lesson_change_is_carried_into_the_solutions(tmp_path: Path) -> None:
    """A lesson edit to a file a solution copies: build --check fails, build rebases it."""
    kit = _kit_copy(tmp_path)
    lesson = kit / "notebooks" / "06_auth.ipynb"
    data = json.loads(lesson.read_text(encoding="utf-8"))
    for cell in data["cells"]:
        source = "".join(cell["source"])
        if source.startswith("%%writefile app/routers/items.py"):
            anchor = "\nrouter = APIRouter("
            assert anchor in source, "pick another line of the lesson's items.py"
            source = source.replace(anchor, "\n# a new comment" + anchor)
            cell["source"] = source.splitlines(keepends=True)
    lesson.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "workshop", "exercises", "build"]
    run = subprocess.run([*command, "--check"], cwd=kit, capture_output=True, text=True)
    assert run.returncode == 1 and "solutions/06_auth.ipynb" in run.stdout
    assert subprocess.run(command, cwd=kit, capture_output=True).returncode == 0
    assert "# a new comment" in (kit / "solutions" / "06_auth.ipynb").read_text()
    assert subprocess.run([*command, "--check"], cwd=kit, capture_output=True).returncode == 0


# ---------------------------------------------------------------- a learner's workspace


def test_start_copies_the_exercises_and_checks_but_never_the_solutions(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    run = subprocess.run(
        [sys.executable, "-m", "workshop", "start", str(workspace)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "exercises" in run.stdout
    assert sorted(p.name for p in (workspace / "exercises").glob("*.ipynb")) == sorted(
        p.name for p in (KIT_ROOT / "exercises").glob("*.ipynb")
    )
    assert sorted(p.name for p in (workspace / "tests" / "exercises").glob("checks_*.py"))
    assert not (workspace / "solutions").exists()
    assert "BEGIN SOLUTION" not in "".join(
        p.read_text(encoding="utf-8") for p in workspace.rglob("*.ipynb")
    )
    # The workspace's own catalog: from exercises/ and its checks, without any solution.
    found = exercises.catalog(workspace)
    assert [e.id for e in found] == IDS
    assert [(e.points, e.checks, e.stubs) for e in found] == [
        (e.points, e.checks, e.stubs) for e in CATALOG
    ]


def test_lesson_ends_point_to_their_exercises() -> None:
    for exercise in CATALOG:
        lesson = KIT_ROOT / "notebooks" / exercise.notebook
        last = json.loads(lesson.read_text(encoding="utf-8"))["cells"][-1]
        text = "".join(last["source"])
        assert f"exercises/{exercise.notebook}" in text and exercise.id in text


# ---------------------------------------------------------------- 13.7: stage checks time out


def test_a_hung_stage_check_is_timed_out_in_words(tmp_path: Path) -> None:
    """workshop/stages.py stops a hung app at its limit, kills the group, says "timed out"."""
    from workshop import build, lesson, paths, stages

    build.write(build.replay(paths.lessons(KIT_ROOT), 1), tmp_path)
    config = tmp_path / "app" / "config.py"
    config.write_text(config.read_text() + "\nimport time\ntime.sleep(300)\n")
    results, _ = stages.run_stages(tmp_path, [1], timeout=3)
    assert results[1].timed_out and not results[1].ok
    assert results[1].failed[0].startswith("timed out: stopped after 3 s")
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert str(tmp_path) not in ps.stdout  # nothing left running
    lesson._root = tmp_path
    try:
        with pytest.raises(lesson.StageCheckFailed):
            lesson.check(1, timeout=3)
    finally:
        lesson._root = None


def test_lesson_check_raises_after_printing_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workshop import build, lesson, paths

    build.write(build.replay(paths.lessons(KIT_ROOT), 0), tmp_path)  # stage 01 missing
    lesson._root = tmp_path
    try:
        with pytest.raises(lesson.StageCheckFailed):
            lesson.check(1)
    finally:
        lesson._root = None
    assert "Stage 01 is not there yet" in capsys.readouterr().out
