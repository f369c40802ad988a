"""The services the dialogs call; no Telegram types here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from bot.admins import AdminRepo
from bot.campaigns.service import CampaignService, Subscriptions
from bot.catalogue.loader import Catalogue
from bot.catalogue.search import SearchEngine
from bot.catalogue.triage import Triage
from bot.config import Settings
from bot.consult.service import ConsultService
from bot.delivery.limiter import Limiter
from bot.delivery.outbox import Outbox
from bot.groups.service import GroupService
from bot.groups.templates import ReplyTemplates, load_shipped
from bot.requests.service import RequestService
from bot.runtime.activity import Activity
from bot.storage.db import Database
from bot.storage.residents import ResidentRepo

CONSENT_VERSION = 1


@dataclass
class Services:
    settings: Settings
    db: Database
    catalogue: Catalogue
    search: SearchEngine
    residents: ResidentRepo
    requests: RequestService
    consult: ConsultService
    admins: Optional[AdminRepo] = field(default=None)
    campaigns: Optional[CampaignService] = field(default=None)
    subscriptions: Optional[Subscriptions] = field(default=None)
    catalogue_edits: Optional[Any] = field(default=None)  # bot.ops.catalogue_edits.CatalogueEdits
    campaign_engine: Optional[Any] = field(default=None)  # bot.campaigns.engine.CampaignEngine while running
    limiter: Limiter = field(default_factory=Limiter)
    outbox: Optional[Outbox] = field(default=None)
    activity: Activity = field(default_factory=Activity)  # updates handled, workers: for /healthz
    # (chat, user) -> until when Telegram said the user is a member of that staff group (monotonic seconds)
    members_until: dict[tuple[int, int], float] = field(default_factory=dict)
    reply_templates: Optional[ReplyTemplates] = field(default=None)  # made on first use: see `templates`

    @property
    def groups(self) -> GroupService:
        """The staff groups (binding, loss, roles), shared by requests and consultations."""
        return self.requests.groups

    @property
    def templates(self) -> ReplyTemplates:
        """The institutions' reply templates (/templates), starting from data/shared/reply_templates.yaml."""
        if self.reply_templates is None:
            shipped = load_shipped(self.settings.data_dir / "shared" / "reply_templates.yaml",
                                   self.settings.default_locale)
            self.reply_templates = ReplyTemplates(self.db, shipped)
        return self.reply_templates

    @property
    def triage(self) -> Triage:
        """Danger triage of any text a resident sends; rules from data/shared/triage.yaml."""
        return self.search.triage

    @property
    def served(self) -> list[str]:
        """Slugs of the communities this deployment serves, in catalogue order."""
        return list(self.catalogue.communities)

    def wake_campaigns(self) -> None:
        if self.campaign_engine is not None:
            self.campaign_engine.wake()

    def wake_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()

    def admin_ids(self) -> list[int]:
        return self.admins.ids if self.admins is not None else list(self.settings.admin_ids)

    def use_catalogue(self, catalogue: Catalogue, search: SearchEngine) -> None:
        """Serve a newly loaded catalogue from now on (everything that keeps a reference to it takes it)."""
        self.catalogue = catalogue
        self.search = search
        self.requests.catalogue = catalogue
        self.groups.catalogue = catalogue
        self.consult.catalogue = catalogue

    def is_admin(self, user_id: Optional[int]) -> bool:
        if self.admins is not None:
            return self.admins.is_admin(user_id)
        return user_id in self.settings.admin_ids
