# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""User accounts: register, read, change, delete."""

from fastapi import APIRouter, BackgroundTasks, Request, status

from app.dependencies import (
    CurrentUser,
    LoginLimiterDep,
    MailerDep,
    SettingsDep,
    UserServiceDep,
)
from app.schemas.common import Id, Limit, Skip, error_responses
from app.schemas.user import UserCreate, UserResponse, UserUpdate
from app.services.notifications import send_quietly, welcome_message

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/", status_code=status.HTTP_201_CREATED, responses=error_responses(409, 429))
async def register(
    data: UserCreate,
    request: Request,
    users: UserServiceDep,
    limiter: LoginLimiterDep,
    mailer: MailerDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> UserResponse:
    """Create an account; the welcome mail goes out after the response, in the background.
    Each address may create a few accounts an hour (REGISTRATION_LIMIT_PER_IP)."""
    client_ip = request.client.host if request.client else "unknown"
    await limiter.check_registration(client_ip)
    user = await users.register(data)
    await limiter.record_registration(client_ip)
    welcome = welcome_message(settings.mail_sender, user.email, user.username)
    background.add_task(send_quietly, mailer, welcome)
    return UserResponse.model_validate(user)


@router.get("/", responses=error_responses(401, 403))
async def list_users(
    actor: CurrentUser, users: UserServiceDep, skip: Skip = 0, limit: Limit = 100
) -> list[UserResponse]:
    """Every account, for superusers only: the list shows every email address."""
    return [UserResponse.model_validate(u) for u in await users.list(actor, skip=skip, limit=limit)]


@router.get("/me", responses=error_responses(401))
async def read_me(actor: CurrentUser, users: UserServiceDep) -> UserResponse:
    """Your own account, read like any user (cached from lesson 07 on): the actor is who is
    calling, not everything the response shows."""
    return UserResponse.model_validate(await users.get(actor, actor.id))


@router.get("/{user_id}", responses=error_responses(401, 403, 404))
async def read_user(user_id: Id, actor: CurrentUser, users: UserServiceDep) -> UserResponse:
    return UserResponse.model_validate(await users.get(actor, user_id))


@router.patch("/{user_id}", responses=error_responses(401, 403, 404, 409))
async def update_user(
    user_id: Id, data: UserUpdate, actor: CurrentUser, users: UserServiceDep
) -> UserResponse:
    return UserResponse.model_validate(await users.update(actor, user_id, data))


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 404)
)
async def delete_user(user_id: Id, actor: CurrentUser, users: UserServiceDep) -> None:
    """Delete an account and, with it, every item it owns."""
    await users.delete(actor, user_id)
