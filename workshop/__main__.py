"""workshop (or python -m workshop): build app/ from the lessons and back, start a learner
workspace, check stages."""

import argparse
import json
import shutil
import sys
from pathlib import Path

from workshop import build, changes, exercises, grading_cli, paths, stages, sync
from workshop.diagrams import FIGURES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description="Tooling for the FastAPI Notebook Kit. Run a subcommand with --help "
        "for its own manual.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build_cmd = commands.add_parser(
        "build",
        help="write app/ (and the other lesson-built files) from the lessons' writefile cells",
        description="Replay the %%writefile cells of the lessons, in order, and write the "
        "files they produce. With --check, write nothing: compare instead, and exit 1 "
        "naming every file that differs, is missing, or is under app/ without any lesson "
        "writing it.",
    )
    build_cmd.add_argument("--upto", type=int, metavar="N", help="stop after lesson N")
    build_cmd.add_argument(
        "--into", type=Path, metavar="DIR", help="target folder (default: the workspace root)"
    )
    build_cmd.add_argument(
        "--check", action="store_true", help="compare only; exit 1 on any difference"
    )

    start_cmd = commands.add_parser(
        "start",
        help="create a fresh learner workspace",
        description="Create DIR with the lessons, the stage tests, the exercises (never their "
        "solutions) with their checks, and an empty app/ package folder, ready for `jupyter "
        "lab`. DIR must not exist yet or be empty.",
    )
    start_cmd.add_argument("dir", type=Path, metavar="DIR")

    check_cmd = commands.add_parser(
        "check",
        help="run the stage tests against the workspace's app and print a table",
        description="Run the tests of stages 1..N (default: every stage) against the app/ of "
        "the workspace you are in, and print one line per stage: pass or fail. Exit 1 when "
        "any stage fails.",
    )
    check_cmd.add_argument("upto", type=int, nargs="?", metavar="N", help="last stage to check")
    check_cmd.add_argument("--root", type=Path, help="workspace root (default: found from cwd)")

    where_cmd = commands.add_parser(
        "where",
        help="name every lesson cell that writes a file",
        description="List the lesson cells that write PATH, in order: notebook, cell index and "
        "id, and whether the cell is part of the final version (the one in app/) or an earlier "
        "version that a later lesson rewrites.",
    )
    where_cmd.add_argument("path", metavar="PATH", help="e.g. app/main.py")

    sync_cmd = commands.add_parser(
        "sync",
        help="copy edited app/ files back into the lessons",
        description="For each PATH (default: every file the lessons write) whose content differs "
        "from what the lessons write, copy the current file into the last lesson cell that "
        "writes it. Earlier versions of a rewritten file are not touched: the cells that still "
        "contain lines your edit changed are listed for you to review. Typical loop: edit app/ "
        "in your editor, run the tests, `workshop sync`, `workshop build --check`. With --check, "
        "write nothing: the same as `build --check`.",
    )
    sync_cmd.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to sync")
    sync_cmd.add_argument("--check", action="store_true", help="compare only (= build --check)")

    exercises_cmd = commands.add_parser(
        "exercises",
        help="build exercises/ from solutions/, or list the exercises",
        description="`exercises build` writes the learner's notebooks exercises/NN_*.ipynb from "
        "the solution notebooks solutions/NN_*.ipynb: every answer between ### BEGIN SOLUTION "
        "and ### END SOLUTION becomes a `# YOUR CODE HERE` stub, outputs are cleared. With "
        "--check, write nothing and exit 1 naming each notebook that differs. `exercises list` "
        "prints every exercise: id, lesson, title, points, number of checks.",
    )
    exercise_actions = exercises_cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    ex_build = exercise_actions.add_parser("build", help="write exercises/ from solutions/")
    ex_build.add_argument("--check", action="store_true", help="compare only; exit 1 on change")
    ex_list = exercise_actions.add_parser("list", help="print every exercise")
    ex_list.add_argument("--json", action="store_true", help="one JSON array")

    grading_cli.add_commands(commands)

    args = parser.parse_args(argv)
    handlers = {
        "build": _build,
        "start": _start,
        "check": _check,
        "where": _where,
        "sync": _sync,
        "exercises": _exercises,
        "grade": grading_cli.grade_command,
        "progress": grading_cli.progress_command,
    }
    try:
        return handlers[args.command](args)
    except paths.NotAWorkspace as error:
        print(error, file=sys.stderr)
        return 2


def _program_name() -> str:
    return "workshop" if Path(sys.argv[0]).name == "workshop" else "python -m workshop"


def _build(args: argparse.Namespace) -> int:
    root = paths.find_root()
    target = (args.into or root).resolve()
    files = build.replay(paths.lessons(root), args.upto)
    if args.check:
        differences = build.compare(files, target, complete=args.upto is None)
        differences += build.header_problems(paths.lessons(root))
        for difference in differences:
            print(difference)
        shown = changes.stale_outputs(paths.lessons(root)) if args.upto is None else []
        for cell in shown:
            print(f"{cell}: its stored output is out of date (run `python -m workshop sync`)")
        if shown and not differences:
            print(f"{len(shown)} stored diff(s) do not match the lessons.", file=sys.stderr)
            return 1
        if differences:
            print(f"{len(differences)} file(s) do not match the lessons.", file=sys.stderr)
            print(
                "Run `python -m workshop build` to rewrite them from the lessons.", file=sys.stderr
            )
            return 1
        print(f"{len(files)} files match the lessons.")
        return 0
    changed = build.write(files, target)
    print(f"{len(files)} files from the lessons; {len(changed)} written in {target}.")
    for path in changed:
        print(f"  {path}")
    return 0


LAB_CONFIG = "jupyter_lab_config.py"
# jupyter lab reads no config from the folder it runs in: `--config=jupyter_lab_config.py` does.
LAB_CONFIG_TEXT = """\
# JupyterLab settings for this workspace: `jupyter lab --config=jupyter_lab_config.py`.
c = get_config()  # noqa: F821 (Jupyter provides it)
# Offline: no update check and no extension manager calling the package index.
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
c.LabApp.news_url = None  # nor the news feed (and its "get notified?" pop-up)
"""


def _start(args: argparse.Namespace) -> int:
    target: Path = args.dir.resolve()
    if target.exists() and any(target.iterdir()):
        print(f"{target} exists and is not empty: choose a new folder.", file=sys.stderr)
        return 1
    source = paths.KIT_ROOT  # a new workspace always starts from the kit's own lessons
    target.mkdir(parents=True, exist_ok=True)
    (target / "notebooks").mkdir()
    for lesson in paths.lessons(source):
        shutil.copy2(lesson.path, target / "notebooks" / lesson.path.name)
    shutil.copytree(
        paths.stage_tests_dir(source),
        target / "tests" / "stages",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # The exercises (never their solutions) and the public checks they are graded by.
    if (source / exercises.EXERCISES).is_dir():
        shutil.copytree(
            source / exercises.EXERCISES,
            target / exercises.EXERCISES,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
        )
    if (source / exercises.CHECKS).is_dir():
        shutil.copytree(
            source / exercises.CHECKS,
            target / exercises.CHECKS,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    figures = source / "notebooks" / FIGURES
    if figures.is_dir():  # the lessons' diagrams, as images
        shutil.copytree(figures, target / "notebooks" / FIGURES)
    (target / "app").mkdir()
    (target / LAB_CONFIG).write_text(LAB_CONFIG_TEXT)
    print(f"Workspace ready in {target}.")
    print(f"Next: cd {target} && jupyter lab --config={LAB_CONFIG},")
    print("then open notebooks/00_welcome.ipynb.")
    print("Check your progress any time with: python -m workshop check")
    print("Practice: exercises/ holds every lesson's exercises (workshop exercises list).")
    return 0


def _check(args: argparse.Namespace) -> int:
    root = (args.root or paths.find_root()).resolve()
    available = sorted(stages.stage_files(root))
    wanted = [n for n in available if args.upto is None or n <= args.upto]
    if not wanted:
        print("No stage tests to run.", file=sys.stderr)
        return 1
    lessons = paths.lessons(root) if paths.is_workspace(root) else paths.lessons(paths.KIT_ROOT)
    titles = {lesson.number: lesson.title for lesson in lessons}
    # A lesson not begun is not run at all: no partial credit, no noise in the output.
    idle = stages.not_started(root, lessons) & set(wanted)
    started = [n for n in wanted if n not in idle]
    results, output = stages.run_stages(root, started) if started else ({}, "")
    print(f"{'stage':<7}{'result':<13}{'checks':<9}lesson")
    for number in wanted:
        if number in idle:
            print(f"{number:02d}{'':<5}{'not started':<13}{'-':<9}{titles.get(number, '')}")
            continue
        result = results[number]
        verdict = "pass" if result.ok else "FAIL"
        counts = f"{len(result.passed)}/{len(result.passed) + len(result.failed)}"
        print(f"{number:02d}{'':<5}{verdict:<13}{counts:<9}{titles.get(number, '')}")
    failed = [n for n in started if not results[n].ok]
    if failed:
        print(f"\nStage(s) {', '.join(f'{n:02d}' for n in failed)} failed. First failures:")
        for number in failed:
            for name in results[number].failed[:5]:
                print(f"  {number:02d}: {name}")
                if results[number].reasons.get(name):
                    print(f"        {results[number].reasons[name]}")
        print("\nLast lines of the test output:")
        print("\n".join(output.strip().splitlines()[-20:]))
        return 1
    if idle:
        print(f"\nEvery lesson you started passes; not started: "
              f"{', '.join(f'{n:02d}' for n in sorted(idle))}.")  # fmt: skip
        return 1
    print(f"\nAll {len(wanted)} stage(s) pass.")
    return 0


def _exercises(args: argparse.Namespace) -> int:
    root = paths.find_root()
    if args.action == "list":
        found = exercises.catalog(root)
        if args.json:
            rows = [
                {
                    "id": e.id,
                    "lesson": e.lesson,
                    "title": e.title,
                    "points": e.points,
                    "checks": e.checks,
                    "notebook": e.notebook,
                }
                for e in found
            ]
            print(json.dumps(rows, indent=1))
            return 0
        print(f"{'id':<7}{'lesson':<8}{'points':<8}{'checks':<8}title")
        for e in found:
            print(f"{e.id:<7}{e.lesson:02d}{'':<6}{e.points:<8}{e.checks:<8}{e.title}")
        print(f"\n{len(found)} exercises, {sum(e.points for e in found)} points.")
        return 0
    if not (root / exercises.SOLUTIONS).is_dir():
        print(f"{root} has no {exercises.SOLUTIONS}/ folder to build from.", file=sys.stderr)
        return 1
    try:
        differing = exercises.build(root, check=args.check)
    except exercises.ExerciseError as error:
        print(f"exercises: {error}", file=sys.stderr)
        return 1
    if args.check:
        for name in differing:
            print(f"{name}: differs from what solutions/ generates")
        if differing:
            print("Run `python -m workshop exercises build` to regenerate.", file=sys.stderr)
            return 1
        print("exercises/ matches solutions/.")
        return 0
    for name in differing:
        print(f"wrote {name}")
    print(f"exercises/ is up to date ({len(differing)} notebook(s) written).")
    return 0


def _relative(root: Path, given: str) -> str:
    """PATH as the lessons name it (relative to the workspace root, forward slashes)."""
    path = Path(given)
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        return absolute.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _where(args: argparse.Namespace) -> int:
    root = paths.find_root()
    relative = _relative(root, args.path)
    places = sync.where(paths.lessons(root), relative)
    if not places:
        print(f"No lesson writes {relative}.", file=sys.stderr)
        return 1
    for place in places:
        print(place)
    return 0


def _sync(args: argparse.Namespace) -> int:
    root = paths.find_root()
    lessons = paths.lessons(root)
    if args.check:
        return _build(argparse.Namespace(upto=None, into=None, check=True))
    owned = build.replay(lessons)
    wanted: list[str] = []
    for given in args.paths:
        relative = _relative(root, given)
        inside = [p for p in owned if p == relative or p.startswith(relative.rstrip("/") + "/")]
        if not inside:
            print(f"No lesson writes {relative} (or anything under it).", file=sys.stderr)
            return 1
        wanted.extend(inside)
    try:
        report = sync.sync(lessons, root, sorted(set(wanted)) or None)
    except sync.SyncError as error:
        print(f"sync: {error}", file=sys.stderr)
        return 1
    refreshed = changes.stale_outputs(lessons, fix=True)
    if not report.updated and not refreshed:
        print("Nothing to sync: every file matches the lessons.")
    for cell in refreshed:
        print(f"refreshed {cell}")
    for _path, cells in report.updated.items():
        for cell in cells:
            print(f"updated {cell}")
    if report.stale:
        print("\nEarlier versions that still contain lines you changed (review them):")
        for _path, cells in report.stale.items():
            for cell in cells:
                print(f"  {cell}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
