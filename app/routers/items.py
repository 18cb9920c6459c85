# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Items: each user manages their own; superusers see everyone's."""

from fastapi import APIRouter, status

from app.dependencies import CurrentUser, ItemServiceDep
from app.schemas.common import Id, Limit, Skip, error_responses
from app.schemas.item import ItemCreate, ItemResponse, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])


@router.post("/", status_code=status.HTTP_201_CREATED, responses=error_responses(401))
async def create_item(data: ItemCreate, actor: CurrentUser, items: ItemServiceDep) -> ItemResponse:
    return ItemResponse.model_validate(await items.create(actor, data))


@router.get("/", responses=error_responses(401))
async def list_items(
    actor: CurrentUser, items: ItemServiceDep, skip: Skip = 0, limit: Limit = 100
) -> list[ItemResponse]:
    return [ItemResponse.model_validate(i) for i in await items.list(actor, skip=skip, limit=limit)]


@router.get("/{item_id}", responses=error_responses(401, 404))
async def read_item(item_id: Id, actor: CurrentUser, items: ItemServiceDep) -> ItemResponse:
    return ItemResponse.model_validate(await items.get(actor, item_id))


@router.patch("/{item_id}", responses=error_responses(401, 404))
async def update_item(
    item_id: Id, data: ItemUpdate, actor: CurrentUser, items: ItemServiceDep
) -> ItemResponse:
    return ItemResponse.model_validate(await items.update(actor, item_id, data))


@router.delete(
    "/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 404)
)
async def delete_item(item_id: Id, actor: CurrentUser, items: ItemServiceDep) -> None:
    await items.delete(actor, item_id)
