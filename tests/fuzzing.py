"""Schemathesis over every operation of the app, served by uvicorn on loopback, as a user and as
a superuser: the suite runs a few examples per operation (tests/app/test_fuzz.py), and
`python benchmarks/fuzz.py` many more, with every schemathesis check.

schemathesis's pytest plugin does not follow pytest 9, so this drives schemathesis and
Hypothesis directly: one strategy per operation and generation mode, one request per case.
"""

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from app.config import Settings
from app.main import create_app
from app.models import User
from app.repositories.user_repository import UserRepository
from app.schemas.user import UserCreate
from app.services.user_service import UserService
from app.utils.security import hash_password

PASSWORD = "fuzzing-password-1"
T = TypeVar("T")


class ServerThread:
    """The app under uvicorn in a thread of its own (schemathesis calls are synchronous)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(self.server.serve())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine in the server's event loop (where its engine lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    @property
    def base_url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn did not start"
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.loop.close()


class Account:
    """The fuzzer's own account. The fuzzer deletes, renames, demotes and deactivates accounts,
    its own included; repair() puts it back as it was, and logs in again."""

    def __init__(self, server: ServerThread, username: str, *, superuser: bool) -> None:
        self.server = server
        self.username = username
        self.superuser = superuser
        self.user_id = 0
        self.token = ""
        self.repair()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def repair(self) -> None:
        self.user_id = self.server.run(self._restore())
        form = {"username": self.username, "password": PASSWORD}
        response = httpx.post(f"{self.server.base_url}/api/v1/auth/token", data=form, timeout=30)
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    async def _restore(self) -> int:
        app = self.server.app
        email = f"{self.username}@example.com"
        async with app.state.resources.sessionmaker() as session:
            user = await session.get(User, self.user_id) if self.user_id else None
            if user is None:
                data = UserCreate(email=email, username=self.username, password=PASSWORD)
                service = UserService(UserRepository(session), app.state.resources.cache)
                user = await service.register(data, is_superuser=self.superuser)
            else:
                user.username, user.email, user.is_active = self.username, email, True
                user.is_superuser = self.superuser
                user.hashed_password = await hash_password(PASSWORD)
                await session.commit()
            user_id: int = user.id
        await app.state.resources.cache.backend.close()  # the in-memory cache: forget every entry
        return user_id


@dataclass
class Report:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    check_failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        spread = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return f"{self.requests} requests, {len(self.server_errors)} 5xx ({spread})"


@contextmanager
def served(settings: Settings) -> Iterator[ServerThread]:
    """The app with these settings, running; generous login and registration budgets, so the
    fuzzer's own logins are not refused after its random ones failed."""
    relaxed = settings.model_copy(
        update={
            "login_limit_per_account": "100000/minute",
            "login_limit_per_ip": "100000/minute",
        }
        | {
            name: "100000/minute"
            for name in Settings.model_fields
            if name.endswith("_limit_per_ip")
            or name.startswith("login_limit")
            or name.startswith("registration_limit")
        }
    )
    with ServerThread(create_app(relaxed)) as server:
        yield server


def fuzz(
    server: ServerThread, account: Account, *, examples: int, all_checks: bool = False
) -> Report:
    """Every operation, positive and negative data, `examples` cases each."""
    report = Report()
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = _operation_run(server, account, report, result.ok(), mode, all_checks)
            with contextlib.suppress(Unsatisfiable):  # negative data for an input-less operation
                hypothesis_settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=not all_checks,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )(run)()
    return report


def _operation_run(
    server: ServerThread,
    account: Account,
    report: Report,
    operation: Any,
    mode: GenerationMode,
    all_checks: bool,
) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        response = case.call(base_url=server.base_url, headers=account.headers, timeout=30)
        report.requests += 1
        report.statuses[response.status_code] += 1
        label = f"{case.method} {case.formatted_path} ({mode.value})"
        if response.status_code >= 500:
            report.server_errors.append(f"{label}: {response.status_code} {response.text}")
        if all_checks:
            try:
                case.validate_response(response)
            except FailureGroup as failures:  # one exception per failed check
                for failure in failures.exceptions:
                    title = getattr(failure, "title", type(failure).__name__)
                    report.check_failures.append(f"{label}: {title}: {response.text[:160]}")
        changed_accounts = case.path.startswith("/api/v1/users/{") and case.method in (
            "PATCH",
            "DELETE",
        )
        if response.status_code in (401, 403) or (changed_accounts and response.status_code < 300):
            account.repair()

    run: Callable[[], None] = send
    return run
