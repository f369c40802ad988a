"""Texts the resident reads: service and institution cards, emergency help, search results."""
from __future__ import annotations

from datetime import date
from typing import Iterable, Optional, Sequence

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.catalogue.loader import Catalogue, CommunityView
from bot.catalogue.models import Access, Cost, Institution, Service, Status
from bot.labels import shorten
from dialogs.common import N_, h, locale

ACCESS = {
    Access.application: N_("a written application (you or your representative)"),
    Access.referral: N_("a referral from another body (for example the children's service or a doctor)"),
    Access.on_record: N_("for people already on the institution's register"),
    Access.direct: N_("just call or come, no papers needed"),
    Access.identified: N_("specialists find and visit people who need it themselves"),
}
COST = {
    Cost.free: N_("Free of charge."),
    Cost.paid: N_("Paid."),
    Cost.mixed: N_("Free for some people, paid for others."),
    Cost.unknown: N_("Whether it is free: ask the institution."),
}
CONTACT_PENDING = N_("Contacts are being clarified.")
STATUS_MARK = {Status.planned: "🕓", Status.introducing: "🆕"}


def bold(text: str) -> str:
    return f"<b>{text}</b>"


def contacts_lines(institution: Institution) -> list[str]:
    loc = locale()
    c = institution.contacts
    if c.empty:
        return ["📇 " + _(CONTACT_PENDING)]
    lines = []
    for phone in c.phones:
        lines.append(f"📞 {h(phone)}")
    if c.address:
        lines.append(f"📍 {h(c.address.get(loc))}")
    if c.hours:
        lines.append(f"🕘 {h(c.hours.get(loc))}")
    if c.email:
        lines.append(f"✉️ {h(c.email)}")
    if c.website:
        lines.append(f"🌐 {h(c.website)}")
    return lines


def service_title(service: Service) -> str:
    name = service.name.get(locale())
    mark = STATUS_MARK.get(service.status)
    return f"{mark} {name}" if mark else name


def years_text(first: Optional[int], last: Optional[int], only: Sequence[int] = ()) -> str:
    """The programme's years as residents read them: 2023, 2021–2027, or 2021, 2024 for one-off events."""
    if only:
        return ", ".join(str(year) for year in only)
    if first is None:
        return ""
    return str(first) if last in (None, first) else f"{first}–{last}"


def this_year(today: Optional[date] = None) -> int:
    return (today or date.today()).year


def can_ask(service: Service, today: Optional[date] = None) -> bool:
    """Whether a resident may send a request about the service: it runs or is being introduced, or its planned
    start has come (then the institution answers whether it is there yet)."""
    if service.available:
        return True
    return service.first_year is not None and service.first_year <= this_year(today)


def status_line(community: CommunityView, service: Service, today: Optional[date] = None) -> Optional[str]:
    """What the programme says about when: planned, being introduced, funded for some years, or nothing.

    A plan whose years have come is not "not available": the card says what the programme planned and asks the
    resident to check with the institution."""
    year = this_year(today)
    years = years_text(service.first_year, service.last_year, service.only_years)
    if service.status is Status.planned:
        if not years:
            return "🕓 " + _("Planned by the community's programme. Not available yet.")
        if (service.first_year or year) > year:
            return "🕓 " + _("Planned by the community's programme: {years}. Not available yet.").format(years=years)
        return "🕓 " + _("Planned by the community's programme: {years}. Whether it is available now, please ask the "
                         "institution below.").format(years=years)
    if service.status is Status.introducing:
        if (service.last_year or year) >= year:
            return "🆕 " + _("Being introduced under the community's programme: {years}. Whether you can get it "
                             "now, please ask the institution below.").format(years=years)
        return "🆕 " + _("Introduced under the community's programme: {years}. Whether it is provided now, please "
                         "ask the institution below.").format(years=years)
    if years:
        if (service.last_year or year) >= year:
            return "🗓 " + _("In the community's programme: {years}.").format(years=years)
        return "🗓 " + _("In the community's programme: {years}; that programme has ended. Whether it continues, "
                         "please ask the institution below.").format(years=years)
    ended = community.model.programme_until
    if ended is not None and ended < year:
        return "ℹ️ " + _("From the community's programme ({years}), which has ended: please check the details with "
                         "the institution.").format(years=years_text(community.model.programme_from, ended))
    return None


def source_label(source: str, ref: str) -> str:
    if source == "law":
        return _("by law: {ref}").format(ref=h(ref))
    return _("the community's programme says so")


def service_card(catalogue: Catalogue, community: CommunityView, service: Service, today: Optional[date] = None) -> str:
    loc = locale()
    provider = community.institutions[service.provider]
    parts = [f"<b>{h(service.name.get(loc))}</b>"]
    when = status_line(community, service, today)
    if when:
        parts.append(when)
    parts.append(h(service.summary.get(loc)))
    if service.source == "law":
        parts.append("ℹ️ " + _("The community's programme does not describe this help; it is listed because the law "
                               "provides it ({ref}).").format(ref=h(service.law_ref or "")))
    if service.not_covered:
        parts.append("ℹ️ " + h(service.not_covered.get(loc)))
    parts.append(bold(_("Who can get it")) + "\n" + h(service.who.get(loc)))
    ways = "\n".join(f"• {h(_(ACCESS[a]))}" for a in service.access)
    parts.append(bold(_("How to get it")) + "\n" + h(service.how.get(loc)) + "\n" + ways)
    cost = _(COST[service.cost])
    if service.cost_note:
        cost += " " + h(service.cost_note.get(loc))
    if service.cost is not Cost.unknown and service.cost_source:
        cost += "\n<i>(" + source_label(service.cost_source, service.cost_ref or "") + ")</i>"
    parts.append(bold(_("Cost")) + "\n" + cost)
    if service.claims:
        parts.append(bold(_("Good to know")) + "\n" + "\n".join(
            f"• {h(claim.text.get(loc))} <i>({source_label(claim.source, claim.ref)})</i>" for claim in service.claims))
    provider_lines = []
    if service.provider_source == "routing":
        provider_lines.append(_("The community's programme does not say who provides this. The bot suggests "
                                "asking here:"))
    provider_lines += [h(provider.name.get(loc)), *contacts_lines(provider)]
    for other_id in service.co_providers:
        other = community.institutions.get(other_id)
        if other:
            provider_lines.append(_("Together with: {name}").format(name=h(other.short_name.get(loc))))
    if service.provider_source == "routing" and service.provider_note:
        provider_lines.append(f"<i>{h(service.provider_note.get(loc))}</i>")
    title = _("Whom to ask") if service.provider_source == "routing" else _("Who provides it")
    parts.append(bold(title) + "\n" + "\n".join(provider_lines))
    return "\n\n".join(parts)


def institution_card(community: CommunityView, institution: Institution) -> str:
    loc = locale()
    services = community.services_of(institution.id)
    parts = [
        f"<b>{h(institution.name.get(loc))}</b>",
        h(institution.description.get(loc)),
        "\n".join(contacts_lines(institution)),
    ]
    if institution.source == "law":
        parts.insert(2, "ℹ️ " + _("The community's programme does not name this institution; it is listed because "
                                  "the law gives it this work ({ref}).").format(ref=h(institution.law_ref or "")))
    if services:
        parts.append(
            ngettext("It provides {n} service:", "It provides {n} services:", len(services)).format(n=len(services))
        )
    return "\n\n".join(parts)


def emergency_text(catalogue: Catalogue, community: CommunityView | None, kinds: Iterable[str] = (),
                   lines: Sequence[str] = ()) -> str:
    """The emergency screen. With the kinds and lines triage found, the line that fits comes first."""
    loc = locale()
    kinds = list(kinds)
    first = kinds[0] if kinds else None
    if first == "suicide":
        lines_head = [bold("🆘 " + _("You are not alone. Please call 7333 now: they listen and help, day and night, "
                                     "free of charge.")),
                      _("If your life is in danger right now, call 112.")]
    elif first == "helpless":
        lines_head = [bold("🆘 " + _("If a person may be lying helpless, call 103 (ambulance) or 112 now.")),
                      _("Do not wait for an answer here: the ambulance and rescuers can open the door.")]
    else:
        lines_head = [bold("🆘 " + _("If you or someone else is in danger right now, call 112 or 102."))]
        if "suicide" in kinds:
            lines_head.append(_("You are not alone. Please call 7333 now: they listen and help, day and night, "
                                "free of charge."))
    if {"violence", "child", "trafficking"} & set(kinds):
        lines_head.append(_("What is happening is not your fault. You can get help confidentially."))
    out = lines_head + [""]
    hotlines = catalogue.hotlines
    if lines:
        rank = {number: index for index, number in enumerate(lines)}
        hotlines = sorted(hotlines, key=lambda line: (rank.get(line.number, len(rank)), line.order))
    elif kinds:
        topics = {"violence": {"violence", "danger"}, "child": {"children", "violence"},
                  "suicide": {"suicide", "psychological"}, "trafficking": {"trafficking"}, "helpless": {"health"}}
        wanted = set().union(*(topics.get(kind, set()) for kind in kinds))
        hotlines = sorted(hotlines, key=lambda line: (not (set(line.topics) & wanted), line.order))
    for line in hotlines:
        out.append(f"📞 <b>{h(line.number)}</b> — {h(line.name.get(loc))} ({h(line.hours.get(loc))})")
    if community is not None:
        out.append("")
        out.append(_("<b>In your community</b>"))
        for inst in local_helpers(community):
            detail = " · ".join(contacts_lines(inst))
            out.append(f"• {h(inst.short_name.get(loc))}: {detail}")
        out.append(_("Below are services that help in such situations."))
    out.append("")
    out.append("<i>" + _("These are national lines, free of charge.") + "</i>")
    return "\n".join(out)


def nothing_found(catalogue: Catalogue, community: CommunityView, query: str, referrals: Sequence = ()) -> str:
    """The honest answer when the community's catalogue has nothing for these words, with whom to ask.

    `referrals` are the search's (data/shared/out_of_scope.yaml) in the order the resident should see them;
    the community's intake institution and the government contact centre 1545 always close the list."""
    loc = locale()
    shown = shorten(query, 60)
    lines = [_("I am sorry, the catalogue of your community has nothing for «{query}».").format(query=h(shown))]
    lines.append(_("It lists social services only. Here is whom to ask:"))
    shown_ids: set[str] = set()
    hotlines = {line.id: line for line in catalogue.hotlines}

    def institution(inst: Institution) -> None:
        if inst.id not in shown_ids:
            shown_ids.add(inst.id)
            lines.append(f"• <b>{h(inst.short_name.get(loc))}</b>: " + " · ".join(contacts_lines(inst)))

    def hotline(line_id: str) -> None:
        line = hotlines.get(line_id)
        if line is not None and "line:" + line_id not in shown_ids:
            shown_ids.add("line:" + line_id)
            lines.append(f"• 📞 <b>{h(line.number)}</b> — {h(line.name.get(loc))} ({h(line.hours.get(loc))})")

    intake = community.institutions.get(community.model.intake_institution)
    for referral in referrals:
        if referral.intake and intake is not None:
            institution(intake)
        elif referral.institution_kind is not None:
            own = [i for i in community.institutions.values() if i.kind == referral.institution_kind]
            for inst in own:
                institution(inst)
            if not own:
                lines.append(f"• {h(referral.name.get(loc))}")
        elif referral.hotline:
            hotline(referral.hotline)
        else:
            lines.append(f"• {h(referral.name.get(loc))}")
    if intake is not None:
        institution(intake)
    for inst in community.institutions.values():
        if inst.kind.value == "cnap" and not referrals:
            institution(inst)
    hotline("gov-contact")
    lines.append("")
    lines.append(_("You can also send a request without a form: the specialists will tell you where to turn. "
                   "Or try other words, or choose your situation from the list."))
    return "\n".join(lines)


DANGER_SITUATIONS = ("domestic_violence", "child_at_risk", "trafficking")


def local_helpers(community: CommunityView) -> list[Institution]:
    """The children's service and the institutions that provide help in danger situations."""
    found: list[Institution] = []

    def add(inst_id: str) -> None:
        inst = community.institutions.get(inst_id)
        if inst and inst not in found:
            found.append(inst)

    add(community.model.children_institution)
    for sid in DANGER_SITUATIONS:
        for service in community.services_for_situation(sid):
            add(service.provider)
    return found[:5]


def emergency_services(community: CommunityView) -> list[Service]:
    seen: dict[str, Service] = {}
    for sid in DANGER_SITUATIONS:
        for service in community.services_for_situation(sid):
            seen.setdefault(service.id, service)
    return list(seen.values())


def search_results(community: CommunityView, services: list[Service]) -> str:
    loc = locale()
    lines = [
        ngettext("I found {n} service that may help:", "I found {n} services that may help:", len(services)).format(
            n=len(services)
        )
    ]
    for number, service in enumerate(services, 1):
        provider = community.institutions[service.provider]
        lines.append(f"\n{number}. <b>{h(service_title(service))}</b>\n{h(provider.short_name.get(loc))}")
    lines.append("\n" + _("Tap a service to see how to get it."))
    return "\n".join(lines)
