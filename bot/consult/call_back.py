"""Whether someone can answer on a consultation line now, and «Ask them to call me back»: a request with the
resident's phone and their question in one line.

No Telegram types here. A call back is either the one of a consultation that nobody took in time (its transcript
goes with it) or a new one with a topic, offered when nobody can answer in the chat now.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from bot.consult.service import ConsultService
from bot.errors import RequestError
from bot.requests.models import Draft, Request
from bot.storage.residents import has_consent

MAX_QUESTION = 500  # the one line about the question


@dataclass(frozen=True)
class Caller:
    """Whom to call: `phone` as +380XXXXXXXXX (or as shared from Telegram), `method` 'telegram' when it is the
    resident's own number shared with the button, 'phone' when typed; `name` from a shared contact."""

    phone: str
    method: str
    name: Optional[str] = None


async def why_nobody_now(consult: ConsultService, community: str, topic: str) -> Optional[str]:
    """None when someone can answer in the chat now: the line is within its hours and its institution has a bound
    group the bot can reach. Otherwise why not: 'closed' (outside hours, a day off) or 'no_group'."""
    line = consult.line(community, topic)
    if not consult.is_open(line):
        return "closed"
    if await consult.groups.group_for(community, line.institution_id) is None:
        return "no_group"
    return None


async def timed_out_of(consult: ConsultService, resident_id: int, consultation_id: int):
    """The resident's consultation that nobody took in time and whose call back is not asked yet; else
    RequestError ('not_found', 'not_timed_out', 'done')."""
    consultation = await consult.get(consultation_id)
    if consultation is None or consultation.resident_id != resident_id:
        raise RequestError("not_found")
    if consultation.status != "timed_out":
        raise RequestError("not_timed_out")
    if consultation.request_id is not None:
        raise RequestError("done")
    return consultation


async def which_call_back(consult: ConsultService, resident_id: int, community: str, topic: str,
                          consent_version: int) -> Optional[int]:
    """For «call me back» with a topic: the id of the resident's last consultation of the topic when it timed out
    without a call back (the call back is that one's), else None for a new one. RequestError when it may not be
    asked: 'no_consent', 'bad_topic', or 'line_open' while someone can answer in the chat now."""
    consult.line(community, topic)
    if not await has_consent(consult.db, resident_id, consent_version):
        raise RequestError("no_consent")
    last = next((c for c in await consult.past_for_resident(resident_id, limit=20)
                 if c.community == community and c.topic == topic), None)
    if last is not None and last.status == "timed_out" and last.request_id is None:
        return last.id
    if await why_nobody_now(consult, community, topic) is None:
        raise RequestError("line_open")
    return None


def _with_caller(draft: Draft, caller: Caller, question: str) -> Draft:
    return replace(draft, description=question, contact_method=caller.method, contact_phone=caller.phone,
                   contact_name=caller.name)


async def call_back_after(consult: ConsultService, resident_id: int, consultation_id: int, caller: Caller,
                          question: str, *, update_id: Optional[int] = None) -> Request:
    """The call back of a consultation nobody took in time: one request with the phone, the resident's line
    about the question and what they wrote in the chat, once. Anything else (not theirs, not timed out, already
    done, over the daily cap) is RequestError and changes nothing."""
    async with consult.db.transaction() as conn:
        consultation = await consult.get_in(conn, consultation_id)
        if consultation.resident_id != resident_id:
            raise RequestError("not_found")
        if consultation.status != "timed_out":
            raise RequestError("not_timed_out")
        if consultation.request_id is not None:
            raise RequestError("done")
        draft = await consult.transcript_draft(conn, consultation)
        description = (question[:MAX_QUESTION] + "\n\n" + draft.description).strip()[:3000]
        request = await consult.requests.create_in(conn, _with_caller(draft, caller, description),
                                                   update_id=update_id)
        cursor = await conn.execute(
            "UPDATE consultations SET request_id = ? WHERE id = ? AND status = 'timed_out' AND request_id IS NULL",
            (request.id, consultation_id))
        if cursor.rowcount != 1:
            raise RequestError("done")
    return request


async def call_back_new(consult: ConsultService, resident_id: int, community: str, topic: str, caller: Caller,
                        question: str, consent_version: int, *, update_id: Optional[int] = None) -> Request:
    """«Call me back» with a topic when nobody can answer in the chat now (see `which_call_back`): a request with
    the phone and the resident's line about the question. Only after the resident's consent, once per update,
    within the daily cap of requests; otherwise RequestError and nothing changes."""
    earlier = await which_call_back(consult, resident_id, community, topic, consent_version)
    if earlier is not None:
        return await call_back_after(consult, resident_id, earlier, caller, question, update_id=update_id)
    situation = next(t for t in consult.catalogue.consultation_topics if t.id == topic).situation
    draft = Draft(community=community, resident_id=resident_id, situation_id=situation, for_whom="self")
    async with consult.db.transaction() as conn:
        return await consult.requests.create_in(conn, _with_caller(draft, caller, question[:3000]),
                                                update_id=update_id)
