"""Resident flows."""
from aiogram import Router

from dialogs.resident import (
    browse,
    call_back,
    confirmation,
    consult,
    emergency,
    follow_ups,
    form_answers,
    menu,
    my_requests,
    requests,
    search,
    start,
    subscriptions,
)


def router() -> Router:
    root = Router(name="resident")
    # follow_ups before search: a text meant for a request is taken before the search's catch-all sees it; after
    # consult: an open consultation takes everything first
    # menu first: «☰ More» and «⬅️ Back» only change the keyboard, whatever dialog is under way
    for module in (menu, start, browse, emergency, requests, form_answers, my_requests, confirmation, consult,
                   call_back, subscriptions, follow_ups,
                   search):
        root.include_router(module.router.build())
    return root
