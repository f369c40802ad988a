"""The services the dialogs call; no Telegram types here."""
from __future__ import annotations

from dataclasses import dataclass

from bot.catalogue.loader import Catalogue
from bot.catalogue.search import SearchEngine
from bot.config import Settings
from bot.storage.db import Database
from bot.storage.residents import ResidentRepo


@dataclass
class Services:
    settings: Settings
    db: Database
    catalogue: Catalogue
    search: SearchEngine
    residents: ResidentRepo

    @property
    def served(self) -> list[str]:
        """Slugs of the communities this deployment serves, in catalogue order."""
        return list(self.catalogue.communities)
