"""python -m workshop: build app/ from the lessons, start a learner workspace, check stages."""

import argparse
import shutil
import sys
from pathlib import Path

from workshop import build, paths, stages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop",
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
        description="Create DIR with the lessons, the stage tests and an empty app/ package "
        "folder, ready for `jupyter lab`. DIR must not exist yet or be empty.",
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

    args = parser.parse_args(argv)
    handler = {"build": _build, "start": _start, "check": _check}[args.command]
    return handler(args)


def _build(args: argparse.Namespace) -> int:
    root = paths.find_root()
    target = (args.into or root).resolve()
    files = build.replay(paths.lessons(root), args.upto)
    if args.check:
        differences = build.compare(files, target, complete=args.upto is None)
        for difference in differences:
            print(difference)
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


def _start(args: argparse.Namespace) -> int:
    target: Path = args.dir.resolve()
    if target.exists() and any(target.iterdir()):
        print(f"{target} exists and is not empty: choose a new folder.", file=sys.stderr)
        return 1
    source = paths.find_root()
    target.mkdir(parents=True, exist_ok=True)
    (target / "notebooks").mkdir()
    for lesson in paths.lessons(source):
        shutil.copy2(lesson.path, target / "notebooks" / lesson.path.name)
    shutil.copytree(
        paths.stage_tests_dir(source),
        target / "tests" / "stages",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (target / "app").mkdir()
    print(f"Workspace ready in {target}.")
    print(f"Next: cd {target} && jupyter lab, then open notebooks/00_welcome.ipynb.")
    print("Check your progress any time with: python -m workshop check")
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
    results, output = stages.run_stages(root, wanted)
    print(f"{'stage':<7}{'result':<8}{'checks':<9}lesson")
    for number in wanted:
        result = results[number]
        verdict = "pass" if result.ok else "FAIL"
        counts = f"{len(result.passed)}/{len(result.passed) + len(result.failed)}"
        print(f"{number:02d}{'':<5}{verdict:<8}{counts:<9}{titles.get(number, '')}")
    failed = [n for n in wanted if not results[n].ok]
    if failed:
        print(f"\nStage(s) {', '.join(f'{n:02d}' for n in failed)} failed. First failures:")
        for number in failed:
            for name in results[number].failed[:5]:
                print(f"  {number:02d}: {name}")
        print("\nLast lines of the test output:")
        print("\n".join(output.strip().splitlines()[-20:]))
        return 1
    print(f"\nAll {len(wanted)} stage(s) pass.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
