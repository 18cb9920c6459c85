"""A long schemathesis run: every operation, positive and negative data, every check.

    python benchmarks/fuzz.py [--examples 200] [--database-url URL]

As a user and as a superuser (the fuzzer's own account is repaired whenever the fuzzer
deletes, renames, demotes or deactivates it), on SQLite in a temporary folder and, when
TEST_DATABASE_URL (or --database-url) names one, on PostgreSQL (its tables are dropped first).
Prints requests, status codes and 5xx per run, then every 5xx and failed check; exits 1 on
any 5xx. The suite runs the same with a few examples (tests/app/test_fuzz.py).
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ENVIRONMENT", "test")

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from tests.fuzzing import Account, fuzz, served


async def _wipe(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:

        def drop(sync_connection: object) -> None:
            existing = MetaData()
            existing.reflect(sync_connection)  # type: ignore[arg-type]
            existing.drop_all(sync_connection)  # type: ignore[arg-type]

        await connection.run_sync(drop)
    await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="cases per operation and mode")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        databases = {"sqlite": f"sqlite+aiosqlite:///{tmp}/fuzz.db"}
        if args.database_url:
            databases["postgresql"] = args.database_url
        for name, url in databases.items():
            for superuser in (False, True):
                if name == "postgresql":
                    asyncio.run(_wipe(url))
                settings = Settings(
                    environment="test",
                    database_url=url,
                    redis_url=None,  # the in-memory cache, which the account repair clears
                    mail_outbox_dir=Path(tmp) / "outbox",
                    secret_key_file=Path(tmp) / "key",
                )
                started = time.perf_counter()
                with served(settings) as server:
                    role = "superuser" if superuser else "user"
                    account = Account(server, f"fuzz{role}", superuser=superuser)
                    report = fuzz(server, account, examples=args.examples, all_checks=True)
                seconds = time.perf_counter() - started
                print(f"{name:10} as {role:9}: {report.line()} in {seconds:.0f} s", flush=True)
                for line in report.server_errors:
                    print("  5xx:", line)
                for line in sorted(set(report.check_failures))[:20]:
                    print("  check:", line.replace("\n", " "))
                failed = failed or bool(report.server_errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
