from bot.storage.db import Database

__all__ = ["Database"]
