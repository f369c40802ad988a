"""Resident flows."""
from aiogram import Router

from dialogs.resident import browse, emergency, search, start


def router() -> Router:
    root = Router(name="resident")
    root.include_routers(start.router.build(), browse.router.build(), emergency.router.build(), search.router.build())
    return root
