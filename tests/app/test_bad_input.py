"""Bad input answers 4xx, the unexpected answers JSON, and no secret reaches a log or an error."""

import asyncio
import logging
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.database import create_engine, create_sessionmaker
from app.log_redaction import RedactTokens, redact
from app.main import create_app
from tests.conftest import PASSWORD, Login, Register
from tests.servers import serve
from workshop.appclient import AppClient

TOKEN_URL = "/api/v1/auth/token"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/items/9223372036854775808",  # past SQLite's 64-bit integers
        "/api/v1/items/2147483648",  # past PostgreSQL's 32-bit integer ids
        "/api/v1/users/2147483648",
        "/api/v1/items/?skip=9223372036854775808",
        "/api/v1/users/?skip=2147483648",
    ],
)
async def test_out_of_range_integers_are_422(
    client: httpx.AsyncClient, root_headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=root_headers)
    assert response.status_code == 422, response.text


async def test_notify_refuses_an_out_of_range_user_id_and_a_multiline_subject(
    client: httpx.AsyncClient, root_headers: dict[str, str]
) -> None:
    too_big = {"user_id": 2**31, "subject": "Hi", "body": "text"}
    assert (
        await client.post("/api/v1/notify", json=too_big, headers=root_headers)
    ).status_code == 422
    # Every line break Python's email headers refuse (a 500 once, found by schemathesis).
    for brk in ["\r\n", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]:
        injected = {"user_id": 1, "subject": f"Hi{brk}Bcc: everyone@example.com", "body": "text"}
        response = await client.post("/api/v1/notify", json=injected, headers=root_headers)
        assert response.status_code == 422, repr(brk)
        assert response.json()["detail"][0]["loc"] == ["body", "subject"]


async def test_a_nul_character_is_422_everywhere(
    client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    # The login form is reached without any account.
    for form in (
        {"username": "ali\x00ce", "password": PASSWORD},
        {"username": "a", "password": "x\x00"},
    ):
        response = await client.post(TOKEN_URL, data=form)
        assert response.status_code == 422, response.text
    body = {"email": "n@example.com", "username": "nul", "password": "pass\x00word"}
    assert (await client.post("/api/v1/users/", json=body)).status_code == 422
    await register("alice")
    headers = await login("alice")
    item = {"title": "a\x00b"}
    assert (await client.post("/api/v1/items/", json=item, headers=headers)).status_code == 422


async def test_an_email_address_is_at_most_254_characters_and_the_schema_says_so(
    client: httpx.AsyncClient,
) -> None:
    """254 is the real ceiling (SMTP's 256-character path, brackets included), not 320."""
    domain = f"{'b' * 63}.{'c' * 63}.{'d' * 57}.com"  # 189 characters
    longest = f"{'a' * 64}@{domain}"
    assert len(longest) == 254
    body = {"email": longest, "username": "longest", "password": PASSWORD}
    assert (await client.post("/api/v1/users/", json=body)).status_code == 201
    body = {"email": "a" + longest, "username": "toolong", "password": PASSWORD}
    response = await client.post("/api/v1/users/", json=body)
    assert response.status_code == 422
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas["UserCreate"]["properties"]["email"]["maxLength"] == 254


async def test_a_body_that_is_not_text_is_422_like_invalid_json(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json"}
    for content in (b"\xff\xfe{", b"{not json"):
        response = await client.post("/api/v1/users/", content=content, headers=headers)
        assert response.status_code == 422, (content, response.text)
        assert response.json()["detail"][0]["loc"][0] == "body"


async def test_the_openapi_declares_that_text_may_not_hold_nul(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    user = schemas["UserCreate"]["properties"]
    assert user["password"]["pattern"] == user["email"]["pattern"] == "^[^\\x00]*$"
    assert user["username"]["pattern"] == "^[A-Za-z0-9_.-]+$"  # its own pattern stays
    description = schemas["ItemUpdate"]["properties"]["description"]["anyOf"]  # nullable
    text = next(option for option in description if option.get("type") == "string")
    assert text["pattern"] == "^[^\\x00]*$"


async def test_patch_fields_are_declared_as_they_behave(
    client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    def nullable(schema: str, field: str) -> bool:
        declared = schemas[schema]["properties"][field]
        return any(option.get("type") == "null" for option in declared.get("anyOf", []))

    assert not any(nullable("UserUpdate", f) for f in schemas["UserUpdate"]["properties"])
    assert not nullable("ItemUpdate", "title")
    assert nullable("ItemUpdate", "description")
    await register("alice")
    headers = await login("alice")
    item = (
        await client.post(
            "/api/v1/items/", json={"title": "t", "description": "d"}, headers=headers
        )
    ).json()
    url = f"/api/v1/items/{item['id']}"
    cleared = await client.patch(url, json={"description": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["description"] is None
    assert (await client.patch(url, json={"title": None}, headers=headers)).status_code == 422


async def _two_requests_on_one_connection(host: str, first: str) -> tuple[bytes, bytes]:
    """Send `first`, then GET /health on the same TCP connection; both raw responses."""
    address, port = host.split(":")
    reader, writer = await asyncio.open_connection(address, int(port))
    answers = []
    try:
        for path in (first, "/health"):
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            answers.append(head + await reader.readexactly(length))
    finally:
        writer.close()
    return answers[0], answers[1]


async def test_an_unexpected_error_is_json_500_and_the_connection_lives_on(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with serve(app) as host:
        failed, health = await _two_requests_on_one_connection(host, "/boom")
    assert failed.startswith(b"HTTP/1.1 500")
    assert failed.endswith(b'{"detail":"Internal server error"}')
    assert health.startswith(b"HTTP/1.1 200")
    assert any("unexpected error in GET /boom" in r.getMessage() for r in caplog.records)


async def test_an_unavailable_database_is_json_503_with_one_line_per_request(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    gone = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app.state.resources = replace(app.state.resources, sessionmaker=create_sessionmaker(gone))
    body = {"email": "secret-name@example.com", "username": "secretname", "password": PASSWORD}
    try:
        async with AppClient(app, lifespan=False) as client:
            answers = [await client.post("/api/v1/users/", json=body) for _ in range(3)]
    finally:
        await gone.dispose()
    assert [a.status_code for a in answers] == [503] * 3
    assert answers[0].json() == {"detail": "Service temporarily unavailable, try again later"}
    lines = [r for r in caplog.records if r.name == "app.errors"]
    assert [r.getMessage().split(" (")[1].split(")")[0] for r in lines] == [
        "1 so far", "2 so far", "3 so far"
    ]  # fmt: skip
    assert not [r for r in lines if r.exc_info]  # one line each, no traceback
    assert "secretname" not in caplog.text


async def test_database_errors_never_show_bound_parameters(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(
                    text("SELECT * FROM no_such_table WHERE name = :name"), {"name": "hunter2"}
                )
    finally:
        await engine.dispose()
    assert "no_such_table" in str(failed.value)
    assert "hunter2" not in str(failed.value)


def test_a_refused_production_start_echoes_no_secret() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            environment="production",
            secret_key="short",
            smtp_host="mail.example.com",
            smtp_password="smtp-hunter2",
            first_superuser_password="root-hunter2",
        )
    message = str(refused.value)
    assert "SECRET_KEY is shorter than" in message
    assert "hunter2" not in message and "short" not in message.replace("shorter", "")


@pytest.mark.parametrize(
    "query", ["token=JWT", "%74oken=JWT", "to%6Bens=no&%74%6F%6B%65%6E=JWT", "x=1&token=JWT"]
)
def test_every_spelling_of_the_token_key_is_redacted(query: str) -> None:
    line = f'127.0.0.1:5 - "WebSocket /ws/lobby?{query}" 403'
    assert "JWT" not in redact(line)
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s %s", ("GET", line), None)
    RedactTokens().filter(record)
    assert "JWT" not in record.getMessage() and "[redacted]" in record.getMessage()


async def test_a_percent_encoded_token_key_is_accepted_and_still_redacted(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from websockets.asyncio.client import connect

    async with serve(create_app(settings)) as host:
        async with httpx.AsyncClient(base_url=f"http://{host}") as http:
            form = {"username": "root", "password": PASSWORD}
            token = (await http.post(TOKEN_URL, data=form)).json()["access_token"]
        async with connect(f"ws://{host}/ws/lobby?%74oken={token}") as ws:
            assert '"join"' in await asyncio.wait_for(ws.recv(), timeout=5)
    logged = capsys.readouterr().err  # uvicorn's own handler writes to stderr
    assert "WebSocket /ws/lobby?%74oken=[redacted]" in logged
    assert token not in logged and token.split(".")[2] not in logged
