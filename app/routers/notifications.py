# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""POST /notify: a superuser queues a mail to a user; the answer does not wait for it."""

from fastapi import APIRouter, BackgroundTasks, status

from app.dependencies import CurrentSuperuser, MailerDep, SettingsDep, UserServiceDep
from app.schemas.common import error_responses
from app.schemas.notification import NotificationCreate, NotificationQueued
from app.services.notifications import compose, send_quietly

router = APIRouter(tags=["notifications"])


@router.post(
    "/notify",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 404),
)
async def notify(
    data: NotificationCreate,
    actor: CurrentSuperuser,
    users: UserServiceDep,
    mailer: MailerDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> NotificationQueued:
    """202 Accepted: queued in this process, sent after the response (lost if it crashes)."""
    user = await users.get(actor, data.user_id)
    message = compose(settings.mail_sender, user.email, data.subject, data.body)
    background.add_task(send_quietly, mailer, message)
    return NotificationQueued(user_id=user.id)
