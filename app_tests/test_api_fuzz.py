# Written by notebooks/11_testing.ipynb: edit there, or edit here and run `workshop sync`
"""Property-based: schemathesis sends generated requests to every operation of the app's own
OpenAPI, in-process, and checks each answer against what the schema promises."""

import contextlib
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

Headers = dict[str, str]
EXAMPLES = 3  # per operation and mode: a few seconds. Raise it for a deeper run.
# No 5xx; every status code, content type and body as the schema documents it. (The default
# set also expects a valid request to succeed: a taken username's 409 would count against it.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def schema(app: FastAPI) -> Iterator[schemathesis.BaseSchema]:
    """The app's OpenAPI; schemathesis calls the app in-process and runs its lifespan."""
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    schemathesis.python.asgi.shutdown_lifespans()  # the app's shutdown, when the test ends


def new_user_headers(schema: schemathesis.BaseSchema, username: str, password: str) -> Headers:
    """A new user, made through the API itself: fuzzed requests may delete or lock accounts."""
    body = {"email": f"{username}@example.com", "username": username, "password": password}
    schema["/api/v1/users/"]["POST"].Case(body=body).call()
    form = {"username": username, "password": password}
    login = schema["/api/v1/auth/token"]["POST"]
    response = login.Case(body=form, media_type="application/x-www-form-urlencoded").call()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, headers: Headers) -> list[str]:
    """Send EXAMPLES generated requests to one operation; what the checks found, in words."""
    problems: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same examples on every run: a failure is reproducible
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            for failure in failures.exceptions:
                problems.append(f"{case.method} {case.formatted_path}: {failure.title}")

    with contextlib.suppress(Unsatisfiable):  # no invalid request exists (no parameters)
        send()
    return problems


def test_every_operation_keeps_its_contract(schema: schemathesis.BaseSchema, password: str) -> None:
    problems = []
    for number, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        headers = new_user_headers(schema, f"fuzzer{number}", password)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            problems += fuzz(operation, mode, headers)
    assert problems == []
