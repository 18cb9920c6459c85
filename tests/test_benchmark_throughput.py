"""benchmarks/throughput.py: its table, and the README section it rewrites (no load made)."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

KIT = Path(__file__).parents[1]


def load_benchmark() -> ModuleType:
    path = KIT / "benchmarks" / "throughput.py"
    spec = importlib.util.spec_from_file_location("throughput", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_gives_every_figure_as_a_ratio_to_bare() -> None:
    bench = load_benchmark()
    bare = bench.Result("bare FastAPI", "GET /json", 4000.0, 2.0, 10.0, 0, 0)
    kit = bench.Result("kit, SQLite", "GET /health", 1000.0, 5.0, 30.0, 3, 1)
    rows = bench.table([bare, kit], bare).splitlines()
    assert rows[2].endswith("| 0 | 1.00x | 1.0x |")
    assert rows[3] == (
        "| kit, SQLite | `GET /health` | 1,000 | 5.0 ms | 30.0 ms | 4 | 0.25x | 3.0x |"
    )


def test_write_readme_replaces_only_the_marked_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_benchmark()
    readme = tmp_path / "README.md"
    readme.write_text(f"# Kit\n\n{bench.BEGIN}\nold\n{bench.END}\n\n## Tests\n")
    monkeypatch.setattr(bench, "README", readme)
    bench.write_readme("| new | table |")
    assert (
        readme.read_text() == f"# Kit\n\n{bench.BEGIN}\n| new | table |\n{bench.END}\n\n## Tests\n"
    )
    assert bench.BEGIN in (KIT / "README.md").read_text()  # the real README has the markers
