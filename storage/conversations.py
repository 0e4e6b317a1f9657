"""Forgetting a person's conversation state in whichever FSM storage is in use: the SQL table (storage/fsm.py)
or Redis (with REDIS_URL). The state's data may hold answers, so an erasure must not leave it behind."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey

_SCAN_COUNT = 500


async def forget_conversations(storage: BaseStorage, bot_id: int, user_id: int) -> int:
    """Delete the person's state and data in every chat (their private chat's id is their user id).
    Returns how many records went (for Redis: keys)."""
    redis = getattr(storage, "redis", None)
    builder = getattr(storage, "key_builder", None)
    if redis is not None and isinstance(builder, DefaultKeyBuilder):
        return await _forget_in_redis(redis, builder, bot_id, user_id)
    # The SQL storage's rows for every chat went with the erasure's transaction; the private chat is
    # cleared through the storage itself for any other kind.
    key = StorageKey(bot_id=bot_id, chat_id=user_id, user_id=user_id)
    await storage.set_state(key, None)
    await storage.set_data(key, {})
    return 0


async def _forget_in_redis(redis: Any, builder: DefaultKeyBuilder, bot_id: int, user_id: int) -> int:
    """Keys look like <prefix>[:<bot>]:<chat>[:<thread>]:<user>[:<destiny>]:<state|data|lock>."""
    sep = builder.separator
    pattern = f"{builder.prefix}{sep}*{sep}{user_id}{sep}*"
    user_at = -3 if builder.with_destiny else -2
    bot = str(bot_id)
    doomed = []
    async for raw in redis.scan_iter(match=pattern, count=_SCAN_COUNT):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        parts = key.split(sep)
        if len(parts) < 4 or parts[user_at] != str(user_id):
            continue
        if builder.with_bot_id and parts[1] != bot:
            continue
        doomed.append(key)
    if doomed:
        await redis.delete(*doomed)
    return len(doomed)
