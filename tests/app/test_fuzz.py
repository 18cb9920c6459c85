"""Schemathesis finds no 5xx: every operation, as a user and as a superuser, on each database."""

import pytest

from app.config import Settings
from tests.fuzzing import Account, fuzz, served


@pytest.mark.parametrize("superuser", [False, True], ids=["as-user", "as-superuser"])
def test_no_operation_answers_5xx(settings: Settings, superuser: bool) -> None:
    with served(settings) as server:
        account = Account(server, "fuzzroot" if superuser else "fuzzer", superuser=superuser)
        report = fuzz(server, account, examples=6)
    print(report.line())
    assert report.requests > 100
    assert report.server_errors == []
