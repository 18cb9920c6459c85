# Written by notebooks/04_services.ipynb: edit there, or edit here and run `workshop sync`
"""Queries on items."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Item


class ItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, item_id: int) -> Item | None:
        return await self.session.get(Item, item_id)

    async def list(self, *, owner_id: int | None, skip: int, limit: int) -> Sequence[Item]:
        """Items in id order; only one owner's when owner_id is given."""
        query = select(Item).order_by(Item.id).offset(skip).limit(limit)
        if owner_id is not None:
            query = query.where(Item.owner_id == owner_id)
        result = await self.session.execute(query)
        return result.scalars().all()

    async def create(self, *, owner_id: int, **fields: Any) -> Item:
        item = Item(owner_id=owner_id, **fields)
        self.session.add(item)
        await self.session.commit()
        return item

    async def update(self, item: Item, **fields: Any) -> Item:
        for name, value in fields.items():
            setattr(item, name, value)
        await self.session.commit()
        return item

    async def delete(self, item: Item) -> None:
        await self.session.delete(item)
        await self.session.commit()
