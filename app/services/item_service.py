# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Rules about items: users see and change their own, superusers everything."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import Cache, cache_key
from app.exceptions import NotFound
from app.models import Item
from app.repositories.item_repository import ItemRepository
from app.schemas.item import ItemCreate, ItemResponse, ItemUpdate
from app.schemas.principal import Principal


class ItemService:
    def __init__(self, items: ItemRepository, cache: Cache) -> None:
        self.items = items
        self.cache = cache

    @classmethod
    def for_session(cls, session: AsyncSession, cache: Cache) -> "ItemService":
        """The one way the app builds this service."""
        return cls(ItemRepository(session), cache)

    async def create(self, actor: Principal, data: ItemCreate) -> ItemResponse:
        item = await self.items.create(owner_id=actor.id, **data.model_dump())
        return ItemResponse.model_validate(item)

    async def list(self, actor: Principal, *, skip: int, limit: int) -> list[ItemResponse]:
        owner_id = None if actor.is_superuser else actor.id
        items = await self.items.list(owner_id=owner_id, skip=skip, limit=limit)
        return [ItemResponse.model_validate(item) for item in items]

    async def get(self, actor: Principal, item_id: int) -> ItemResponse:
        """Cache-aside read: a hit skips the database, never the permission check."""
        item = await self.cache.get_or_load(
            cache_key("item", item_id), ItemResponse, lambda: self._load(item_id)
        )
        if item is None or not _may_see(actor, item.owner_id):
            raise NotFound("Item not found")
        return item

    async def update(self, actor: Principal, item_id: int, data: ItemUpdate) -> ItemResponse:
        item = await self._get_for_write(actor, item_id)
        updated = await self.items.update(item, **data.changes())
        await self.cache.invalidate(cache_key("item", item_id))  # after the commit
        return ItemResponse.model_validate(updated)

    async def delete(self, actor: Principal, item_id: int) -> None:
        item = await self._get_for_write(actor, item_id)
        await self.items.delete(item)
        await self.cache.invalidate(cache_key("item", item_id))

    async def _load(self, item_id: int) -> ItemResponse | None:
        item = await self.items.get(item_id)
        return None if item is None else ItemResponse.model_validate(item)

    async def _get_for_write(self, actor: Principal, item_id: int) -> Item:
        item = await self.items.get(item_id)
        # 404, not 403, for someone else's item: do not even confirm that it exists.
        if item is None or not _may_see(actor, item.owner_id):
            raise NotFound("Item not found")
        return item


def _may_see(actor: Principal, owner_id: int) -> bool:
    return actor.is_superuser or actor.id == owner_id
