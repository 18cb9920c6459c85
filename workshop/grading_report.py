"""What grading writes into OUT: CSVs, the class report, feedback and Gradescope results.

A private check's name, docstring and failure never leave the grader: feedback, report and
results show private checks only as a count and points per exercise.
"""

import csv
import html
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from workshop.grading import Check, Graded, Grading

SCHEMA = Path(__file__).with_name("grading_results.schema.json")
COLOURS = {
    "passed": "#1a7f37",
    "partial": "#bf8700",
    "failed": "#cf222e",
    "not attempted": "#8c959f",
    "does not run": "#8250df",
    "timed out": "#0550ae",
    "unreadable": "#57606a",
}


def write_all(grading: Grading, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("feedback", "results"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir()
    write_grades(grading, out / "grades.csv")
    write_summary(grading, out / "summary.csv")
    (out / "report.html").write_text(report_html(grading), encoding="utf-8")
    for learner in grading.learners:
        mine = [g for g in grading.results if g.learner == learner]
        notes = grading.notes.get(learner, [])
        signal = [s.words() for s in grading.stages.get(learner, [])]
        (out / "feedback" / f"{learner}.md").write_text(
            feedback_markdown(learner, mine, notes, signal), encoding="utf-8"
        )
        (out / "results" / f"{learner}.json").write_text(
            json.dumps(gradescope(mine, notes, signal), indent=1, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )


def write_grades(grading: Grading, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "exercise", "status", "points", "max_points"])
        for g in grading.results:
            writer.writerow([g.learner, g.exercise, g.status, g.points, g.max_points])


def write_summary(grading: Grading, path: Path) -> None:
    ids = [e.id for e in grading.exercises]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "points", "max_points", *ids])
        for learner in grading.learners:
            mine = {g.exercise: g for g in grading.results if g.learner == learner}
            points = sum(g.points for g in mine.values())
            max_points = sum(g.max_points for g in mine.values())
            writer.writerow([learner, points, max_points, *(mine[i].points for i in ids)])


# ---------------------------------------------------------------- feedback


def _private_line(checks: list[Check]) -> str:
    private = [c for c in checks if c.private]
    passed = sum(c.passed for c in private)
    points = sum(c.points for c in private)
    total = sum(c.max_points for c in private)
    return f"instructor's private checks: {passed} of {len(private)} pass ({points}/{total} points)"


def feedback_markdown(
    learner: str, results: list[Graded], notes: list[str], signal: list[str]
) -> str:
    points = sum(g.points for g in results)
    total = sum(g.max_points for g in results)
    lines = [f"# Feedback for {learner}", "", f"**{points} of {total} points.**", ""]
    for note in notes:
        lines.append(f"- Note: {note}")
    if notes:
        lines.append("")
    for g in results:
        lines.append(f"## Exercise {g.exercise}: {g.title}")
        lines.append("")
        lines.append(f"**{g.status}**, {g.points} of {g.max_points} points"
                     + (f" (from `{g.notebook}`)" if g.notebook else ""))  # fmt: skip
        lines.append("")
        if g.status not in {"passed"} and g.detail:
            lines.append(f"{g.detail}")
            lines.append("")
        for check in g.checks:
            if check.private:
                continue
            mark = "✓" if check.passed else "✗"
            lines.append(f"- {mark} {check.expects}")
            if not check.passed and check.failure and g.status != "not attempted":
                lines.append(f"  - first failure: `{_one_line(check.failure)}`")
        if any(c.private for c in g.checks):
            lines.append(f"- {_private_line(g.checks)}")
        for regression in g.regressions:
            lines.append(f"- ⚠ your change broke {regression}")
        lines.append("")
    if signal:
        lines.append("## The stages your exercises sit on")
        lines.append("")
        lines.extend(f"- {line}" for line in signal)
        lines.append("")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.replace("`", "'")[:240]


# ---------------------------------------------------------------- Gradescope


def gradescope(results: list[Graded], notes: list[str], signal: list[str]) -> dict[str, Any]:
    """Gradescope's autograder results format (see grading_results.schema.json)."""
    tests: list[dict[str, Any]] = []
    for g in results:
        for check in g.checks:
            if check.private:
                continue
            output = g.status if g.status in {"not attempted", "does not run", "timed out",
                                              "unreadable"} else ""  # fmt: skip
            if not check.passed and check.failure and not output:
                output = _one_line(check.failure)
            elif output and g.detail:
                output = f"{output}: {_one_line(g.detail)}"
            tests.append({
                "name": f"{g.exercise} {check.expects}",
                "score": check.points,
                "max_score": check.max_points,
                "output": output,
                "status": "passed" if check.passed else "failed",
                "visibility": "visible",
            })  # fmt: skip
        private = [c for c in g.checks if c.private]
        if private:
            tests.append({
                "name": f"{g.exercise} private checks",
                "score": sum(c.points for c in private),
                "max_score": sum(c.max_points for c in private),
                "output": _private_line(g.checks),
                "status": "passed" if all(c.passed for c in private) else "failed",
                "visibility": "visible",
            })  # fmt: skip
    output = "\n".join([*notes, *signal])
    return {
        "score": sum(g.points for g in results),
        "max_score": sum(g.max_points for g in results),
        "execution_time": round(sum(g.seconds for g in results), 2),
        "output": output,
        "tests": tests,
    }


# ---------------------------------------------------------------- the class report


def most_failing(grading: Grading, limit: int = 10) -> list[tuple[str, str, int, int]]:
    """(exercise, hint, failures, attempts) of public checks, most failed first."""
    failed: Counter[tuple[str, str]] = Counter()
    tried: Counter[tuple[str, str]] = Counter()
    for g in grading.results:
        if g.status in {"not attempted", "unreadable"}:
            continue
        for check in g.checks:
            if check.private:
                continue
            key = (g.exercise, check.expects)
            tried[key] += 1
            failed[key] += not check.passed
    ranked = sorted((k for k in failed if failed[k]), key=lambda k: (-failed[k], k))
    return [(k[0], k[1], failed[k], tried[k]) for k in ranked[:limit]]


def report_html(grading: Grading) -> str:
    e = html.escape
    ids = [x.id for x in grading.exercises]
    titles = {x.id: x.title for x in grading.exercises}
    by = {(g.learner, g.exercise): g for g in grading.results}
    head = "".join(f'<th scope="col" title="{e(titles[i])}">{e(i)}</th>' for i in ids)
    rows = []
    for learner in grading.learners:
        cells = []
        total = points = 0
        for ident in ids:
            g = by[(learner, ident)]
            total += g.max_points
            points += g.points
            tip = e(f"{g.status}: {g.points}/{g.max_points}. {g.detail}")
            slug = g.status.replace(" ", "-")
            cells.append(
                f'<td class="{slug}" data-status="{e(g.status)}" data-exercise="{e(ident)}" '
                f'title="{tip}">{e(g.status)}<br><small>{g.points}/{g.max_points}</small></td>'
            )
        signal = "<br>".join(e(s.words()) for s in grading.stages.get(learner, [])) or "-"
        rows.append(f'<tr data-learner="{e(learner)}"><th scope="row">{e(learner)}</th>'
                    f'{"".join(cells)}<td class="total">{points}/{total}</td>'
                    f'<td class="stages">{signal}</td></tr>')  # fmt: skip
    counts = Counter(g.status for g in grading.results)
    legend = "".join(
        f'<li><span class="swatch {s.replace(" ", "-")}"></span>{e(s)}: {counts.get(s, 0)}</li>'
        for s in COLOURS
    )
    failing = (
        "".join(
            f"<tr><td>{e(ex)}</td><td>{e(hint)}</td><td>{n} of {tried}</td></tr>"
            for ex, hint, n, tried in most_failing(grading)
        )
        or '<tr><td colspan="3">No check failed.</td></tr>'
    )
    styles = "".join(
        f"td.{s.replace(' ', '-')}, .swatch.{s.replace(' ', '-')} {{ background: {c}; }}"
        for s, c in COLOURS.items()
    )
    mean = grading.seconds / max(1, len(grading.learners))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Grading report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: center; }}
#matrix td:not(.total) {{ color: white; font-size: .85rem; }}
.swatch {{ display: inline-block; width: 1rem; height: 1rem; margin-right: .4rem;
  vertical-align: middle; }}
#legend {{ list-style: none; display: flex; gap: 1.2rem; padding: 0; flex-wrap: wrap; }}
#failing td:nth-child(2), td.stages {{ text-align: left; }}
td.stages {{ font-size: .8rem; max-width: 28rem; }}
{styles}
</style></head><body>
<h1>Grading report</h1>
<p id="timing">{len(grading.learners)} learners x {len(ids)} exercises graded in
{grading.seconds:.1f} s ({mean:.1f} s per learner, {grading.jobs} jobs at a time).</p>
<p id="isolation">Isolation: {e(grading.isolation)}.</p>
<ul id="legend">{legend}</ul>
<h2>Learners by exercises</h2>
<table id="matrix"><thead><tr><th scope="col">learner</th>{head}<th scope="col">total</th>
<th scope="col">stage tests on their answers</th>
</tr></thead><tbody>{"".join(rows)}</tbody></table>
<h2>The checks that fail most</h2>
<table id="failing"><thead><tr><th>exercise</th><th>what the check expects (its hint)</th>
<th>failed</th></tr></thead><tbody>{failing}</tbody></table>
</body></html>
"""
