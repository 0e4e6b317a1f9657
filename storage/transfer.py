"""Copy every table of one database into another (e.g. an SQLite installation moving to PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.migrate import upgrade
from storage.models import Base

BATCH = 1000


async def copy_database(
    source: AsyncEngine, target: AsyncEngine, progress: Callable[[str, int], None]
) -> dict[str, int]:
    """The target gets the schema by migrations, must be empty, and receives all rows in one transaction."""
    await upgrade(target)
    tables = [t for t in Base.metadata.sorted_tables]
    copied: dict[str, int] = {}
    async with target.begin() as dst:
        for table in tables:
            existing = (await dst.execute(select(func.count()).select_from(table))).scalar_one()
            if existing:
                raise RuntimeError(f"the target database is not empty (table {table.name} has rows)")
        async with source.connect() as src:
            for table in tables:
                n = 0
                result = await src.stream(select(table))
                async for chunk in result.partitions(BATCH):
                    rows = [dict(r._mapping) for r in chunk]
                    await dst.execute(insert(table), rows)
                    n += len(rows)
                copied[table.name] = n
                progress(table.name, n)
        if target.dialect.name == "postgresql":
            # Rows kept their ids: move each id sequence past the largest copied id.
            for table in tables:
                if "id" in table.c and table.c.id.autoincrement and table.name in copied:
                    await dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
    return copied
