"""The curator's desk: a Telegram Mini App served by the bot process (see server.py)."""
