"""Checks of the lesson 09 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest

TOKEN_URL = "/api/v1/auth/token"
USERS_URL = "/api/v1/users/"
PASSWORD_URL = "/api/v1/users/me/password"
ALL_URL = "/api/v1/notify/all"
NEW_PASSWORD = "a-brand-new-passphrase"


def _mails(settings: Any, to: str | None = None) -> list[Message]:
    folder = Path(settings.mail_outbox_dir)
    found = [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
    return [m for m in found if to is None or m["To"] == to]


async def _user(client: httpx.AsyncClient, name: str, password: str) -> dict[str, str]:
    body = {"email": f"{name}@example.com", "username": name, "password": password}
    response = await client.post(USERS_URL, json=body)
    assert response.status_code == 201, f"registering {name} answered {response.status_code}"
    return await _login(client, name, password)


async def _login(client: httpx.AsyncClient, name: str, password: str) -> dict[str, str]:
    response = await client.post(TOKEN_URL, data={"username": name, "password": password})
    assert response.status_code == 200, f"logging in as {name} answered {response.status_code}"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _change(
    client: httpx.AsyncClient, headers: dict[str, str], current: str
) -> httpx.Response:
    body = {"current_password": current, "new_password": NEW_PASSWORD}
    return await client.post(PASSWORD_URL, json=body, headers=headers)


@pytest.mark.exercise("09.1", points=2)
async def test_the_new_password_works_and_the_old_does_not(
    stage_client: httpx.AsyncClient, password: str
) -> None:
    """With the right current password: 204, then the new one logs in and the old one not."""
    alice = await _user(stage_client, "alice", password)
    response = await _change(stage_client, alice, password)
    assert response.status_code == 204, f"POST {PASSWORD_URL} answered {response.status_code}"
    await _login(stage_client, "alice", NEW_PASSWORD)
    old = await stage_client.post(TOKEN_URL, data={"username": "alice", "password": password})
    assert old.status_code == 401, f"the old password still logs in ({old.status_code})"
    me = await stage_client.get(f"{USERS_URL}me", headers=alice)
    assert me.status_code == 401, f"a token from before the change still works ({me.status_code})"


@pytest.mark.exercise("09.1", points=2)
async def test_the_owner_gets_a_notice_without_any_password(
    stage_client: httpx.AsyncClient, stage_settings: Any, password: str
) -> None:
    """One mail to alice@example.com with "password" in its subject, neither password in it."""
    alice = await _user(stage_client, "alice", password)
    assert (await _change(stage_client, alice, password)).status_code == 204
    # Outbox files of one second sort in random order: leave the welcome mail out by subject.
    mails = _mails(stage_settings, "alice@example.com")
    notices = [m for m in mails if not str(m["Subject"]).startswith("Welcome")]
    assert len(notices) == 1, f"{len(notices)} new mail(s) to alice, expected 1"
    subject = str(notices[0]["Subject"])
    assert "password" in subject.lower(), f"the subject {subject!r} does not say password"
    text = notices[0].as_string()
    assert NEW_PASSWORD not in text and password not in text, "the mail contains a password"


@pytest.mark.exercise("09.1", points=1)
async def test_a_wrong_current_password_is_403_and_changes_nothing(
    stage_client: httpx.AsyncClient, stage_settings: Any, password: str
) -> None:
    """A wrong current password answers 403, sends no mail, and the old password still works."""
    alice = await _user(stage_client, "alice", password)
    before = len(_mails(stage_settings))
    response = await _change(stage_client, alice, "not-the-password")
    assert response.status_code == 403, f"a wrong current password answered {response.status_code}"
    assert len(_mails(stage_settings)) == before, "a mail went out for a refused change"
    await _login(stage_client, "alice", password)


@pytest.mark.exercise("09.1", points=1)
async def test_changing_needs_a_token(stage_client: httpx.AsyncClient, password: str) -> None:
    """Without a token the change is a 401."""
    body = {"current_password": password, "new_password": NEW_PASSWORD}
    response = await stage_client.post(PASSWORD_URL, json=body)
    assert response.status_code == 401, f"without a token it answered {response.status_code}"


NOTICE = {"subject": "Maintenance tonight", "body": "We are down from 22:00 to 23:00."}


@pytest.mark.exercise("09.2", points=2)
async def test_every_active_user_gets_one_mail(
    stage_client: httpx.AsyncClient, stage_settings: Any, password: str
) -> None:
    """202 with recipients 3 (root, alice, bob), one mail each with the subject."""
    await _user(stage_client, "alice", password)
    await _user(stage_client, "bob", password)
    root = await _login(stage_client, "root", password)
    response = await stage_client.post(ALL_URL, json=NOTICE, headers=root)
    assert response.status_code == 202, f"POST {ALL_URL} answered {response.status_code}"
    assert response.json().get("recipients") == 3, f"the answer was {response.json()}"
    sent = [m for m in _mails(stage_settings) if m["Subject"] == NOTICE["subject"]]
    to = sorted(str(m["To"]) for m in sent)
    assert to == ["alice@example.com", "bob@example.com", "root@example.com"], f"sent to {to}"


@pytest.mark.exercise("09.2", points=1)
async def test_deactivated_accounts_get_nothing(
    stage_client: httpx.AsyncClient, stage_settings: Any, password: str
) -> None:
    """A deactivated account is not mailed (and not counted)."""
    await _user(stage_client, "alice", password)
    root = await _login(stage_client, "root", password)
    users = (await stage_client.get(USERS_URL, headers=root)).json()
    alice_id = next(u["id"] for u in users if u["username"] == "alice")
    off = await stage_client.patch(
        f"{USERS_URL}{alice_id}", json={"is_active": False}, headers=root
    )
    assert off.status_code == 200, f"deactivating alice answered {off.status_code}"
    response = await stage_client.post(ALL_URL, json=NOTICE, headers=root)
    assert response.json().get("recipients") == 1, f"the answer was {response.json()}"
    sent = [str(m["To"]) for m in _mails(stage_settings) if m["Subject"] == NOTICE["subject"]]
    assert sent == ["root@example.com"], f"sent to {sent}"


@pytest.mark.exercise("09.2", points=1)
async def test_only_superusers_may_send(
    stage_client: httpx.AsyncClient, stage_settings: Any, password: str
) -> None:
    """A normal user gets 403 and an anonymous caller 401; no mail goes out."""
    alice = await _user(stage_client, "alice", password)
    forbidden = await stage_client.post(ALL_URL, json=NOTICE, headers=alice)
    anonymous = await stage_client.post(ALL_URL, json=NOTICE)
    assert forbidden.status_code == 403, f"a normal user got {forbidden.status_code}"
    assert anonymous.status_code == 401, f"an anonymous caller got {anonymous.status_code}"
    assert not [m for m in _mails(stage_settings) if m["Subject"] == NOTICE["subject"]]
