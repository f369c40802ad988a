"""Resident flows."""
from aiogram import Router

from dialogs.resident import browse, consult, emergency, requests, search, start, subscriptions


def router() -> Router:
    root = Router(name="resident")
    for module in (start, browse, emergency, requests, consult, subscriptions, search):
        root.include_router(module.router.build())
    return root
