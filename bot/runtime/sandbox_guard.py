"""Whether the local sandbox may start on a database (`python -m bot run` without BOT_TOKEN): not on one that has
served real people, nor on one whose sandbox people are lost. Where the sandbox keeps them, and the bot's token
inside it. bot/storage/origin.py records where a database's residents came from."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from bot.storage import origin

# The bot's token inside the local sandbox only; it means nothing to Telegram.
SANDBOX_TOKEN = "7000000001:local-sandbox-token-not-for-telegram"


def sandbox_state_file(database: Path) -> Path:
    """The sandbox's people, chats and messages live next to the database they belong with."""
    return database.with_name(database.stem + ".sandbox.json")


def sandbox_refusal(origins: origin.Origins, database: Path, state_file: Path, on_real_data: bool) -> Optional[str]:
    """Why the sandbox must not start with this database (plain words, what to do), or None."""
    if origins.real and not on_real_data:
        if origin.TELEGRAM in origins.kinds:
            came = (f"it has served a real bot token ({', '.join(origins.servers) or 'Telegram'}), so it holds real "
                    "people's data")
        else:
            came = (f"it holds {origins.residents} resident(s) and does not say where they came from (they were "
                    "stored before the bot recorded it), so they may be real people")
        return (
            f"The local sandbox will not start on the database {database}: {came}.\n"
            "In the sandbox anyone at the web chat acts as any person, so real residents' requests and chats "
            "would be open to them, and the sandbox's made-up people would get real people's ids.\n"
            "What to do:\n"
            "  * to try the bot, use a database of its own: DATABASE_PATH=var/sandbox.sqlite3 make run\n"
            "  * to serve real people, set BOT_TOKEN\n"
            "  * if this database only ever served the sandbox, delete it (and its .sandbox.json) to start clean\n"
            "  * to run the sandbox on this data anyway (a copy of it, on your own machine), add "
            "--sandbox-on-real-data: python -m bot run --sandbox-on-real-data"
        )
    if not origins.real and origins.residents and not state_file.exists():
        return (
            f"The local sandbox will not start: the database {database} knows {origins.residents} resident(s) of "
            f"an earlier sandbox, but the sandbox's own record of them ({state_file}) is missing. A fresh sandbox "
            "would give their ids to new people, who would see the old people's requests.\n"
            f"What to do: put {state_file.name} back next to the database, or delete the database to start both "
            "clean."
        )
    return None
