"""Rules about items: users see and change their own, superusers everything."""

from collections.abc import Sequence

from app.exceptions import NotFound
from app.models import Item, User
from app.repositories.item_repository import ItemRepository
from app.schemas.item import ItemCreate, ItemUpdate


class ItemService:
    def __init__(self, items: ItemRepository) -> None:
        self.items = items

    async def create(self, actor: User, data: ItemCreate) -> Item:
        return await self.items.create(owner_id=actor.id, **data.model_dump())

    async def list(self, actor: User, *, skip: int, limit: int) -> Sequence[Item]:
        owner_id = None if actor.is_superuser else actor.id
        return await self.items.list(owner_id=owner_id, skip=skip, limit=limit)

    async def get(self, actor: User, item_id: int) -> Item:
        item = await self.items.get(item_id)
        # 404, not 403, for someone else's item: do not even confirm that it exists.
        if item is None or (item.owner_id != actor.id and not actor.is_superuser):
            raise NotFound("Item not found")
        return item

    async def update(self, actor: User, item_id: int, data: ItemUpdate) -> Item:
        item = await self.get(actor, item_id)
        return await self.items.update(item, **data.changes())

    async def delete(self, actor: User, item_id: int) -> None:
        item = await self.get(actor, item_id)
        await self.items.delete(item)
