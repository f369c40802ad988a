"""What the update fuzzer sends: hypothesis strategies of abstract actions, drawn into a fixed plan.

An action is a plain dict. Who acts and where is named by role (``A`` the resident with a request, ``B``
another resident, ``C`` people the bot has never seen, ``S`` a member of the bound staff group, ``U`` a
member of a group that was never bound); the test resolves roles, message indices and placeholders
(``@RID``: the request of resident A) against the sandbox when it carries the action out.
"""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

WHO = ["A", "B", "C", "S", "U"]
RID = "@RID"  # resident A's request id, put in at run time

# Characters that break naive text handling: direction marks, zero-width, combining marks, emoji
# sequences, control characters, markup of HTML and Markdown, format placeholders, other scripts.
ODD = [
    "\u200f", "\u200e", "\u202e", "\u2066", "\u200b", "\u200c", "\u200d", "\ufeff", "\u0301", "\u0489",
    "\u0336", "👨‍👩‍👧", "🏳️‍🌈", "🇺🇦", "👍🏽", "\x00", "\x07", "\x1b[31m", "\r\n", "\t", "\x7f", "\u2028",
    "<b>", "</b>", "</a>", '<a href="tg://user?id=1">', "<script>", "&amp;", "&", "<", ">", "&#0;", "&lt",
    "*_[", "`", "```", "](", "[x](http://e)", "\\", "~~", "||", "%s", "%(x)s", "{0}", "{name}", "{", "}",
    "ʼ", "’", "ґ", "Ї", "שלום", "مرحبا", "𝕏", "ﷺ", "\U0001f9d1\u200d\U0001f9af", "\ue000", "\U000e0041",
]
WORDS = [
    "/start", "/menu", "/cancel", "/help", "/open", "/queue", "/bind", "/bind_code", "/role", "/stats",
    "/export", "/qr", "/templates", "📝 Попросити допомогу", "🧭 Знайти допомогу", "🔎 Пошук", "🆘 Екстрена допомога",
    "⚙️ Налаштування", "❓ Як користуватися", "📂 Мої звернення", "💬 Онлайн-консультація",
    "🙋 Повідомити про людину в біді", "Далі ➡️", "✅ Надіслати", "☎️ Написати номер", "💬 Лише тут, у чаті",
    "чоловік б'є", "сину 2 роки, у нього інвалідність", "де безкоштовно поїсти пенсіонеру", "2026-000001",
    "+380501234567", "0", "-1", "9" * 40, "null", "None", "undefined", "' OR 1=1 --", "../../etc/passwd",
]
COMMANDS = ["/start", "/menu", "/cancel", "/help", "/open", "/queue", "/bind", "/bind_code", "/role", "/stats",
            "/export", "/qr", "/start@gromada_bot", "/unknown", "/campaign", "/my", "/templates"]
# Callback data the bot's buttons carry: prefix, then actions seen in dialogs/.
PREFIXES = {
    "n": ["menu", "find", "sits", "grps", "insts", "sit", "grp", "inst", "svc", "ask", "emg", "subs", "sub",
          "consult", "settings", "set_lang", "set_comm", "del", "del_yes", "del_no", "mydata", "found", "fsvc"],
    "p": ["lang", "comm"],
    "r": ["list", "open", "write", "withdraw", "withdraw_yes", "rate"],
    "s": ["take", "reply", "note", "redirect", "to", "resolve", "close", "reopen", "cancel", "why", "fin", "handover",
          "hand_to"],
    "a": ["consent", "topic", "whom", "about", "described", "anon", "edit", "send", "cancel"],
    "c": ["topic", "callback", "callback_new", "cb_same", "book", "day", "slot", "bookings", "unbook", "cancel",
          "rate"],
    "k": ["take", "note", "transfer", "to_topic", "to_inst", "convert", "end"],
    "uns": ["news", "x"],
    "cmp": ["pause", "resume", "cancel", "show"],
    "rp": ["s", "x"],
    "qr": ["kinds", "svcs", "tops", "make"],
    "cs": ["topic", "media", "button", "comm", "svc", "cons", "aud", "lang", "go", "stop"],
    "fu": ["to", "search", "undo"],
    "st": ["use", "send", "add", "edit", "remove", "drop", "cancel"],  # ready answers: st:action:template:request
    "hc": ["yes", "partly", "no"],  # «Чи отримали ви допомогу?»: hc:question:answer
}
MEDIA = ["photo", "document", "voice", "video", "audio", "animation", "video_note", "sticker"]
OTHER_CONTENT = ["location", "venue", "poll", "dice", "contact"]
UPDATE_KINDS = ["inline_query", "chosen_inline_result", "poll_answer", "message_reaction", "chat_join_request",
                "shipping_query", "pre_checkout_query", "chat_boost", "business_message", "some_future_update",
                "message_reaction_count", "removed_chat_boost", "deleted_business_messages"]

plain_char = st.characters(blacklist_categories=("Cs",))
chunk = st.one_of(
    st.text(plain_char, max_size=24),
    st.lists(st.sampled_from(ODD), min_size=1, max_size=6).map("".join),
    st.sampled_from(WORDS),
)
short_text = st.lists(chunk, min_size=1, max_size=5).map("".join)
huge_text = st.tuples(chunk.filter(lambda s: bool(s.strip())), st.integers(3900, 5200)).map(
    lambda pair: (pair[0] * (pair[1] // len(pair[0]) + 1))[: pair[1]])
command = st.tuples(st.sampled_from(COMMANDS), short_text).map(lambda pair: f"{pair[0]} {pair[1]}")
any_text = st.one_of(short_text, short_text, command, huge_text)

number = st.one_of(st.just(RID), st.integers(-10, 10).map(str), st.integers(-(2 ** 70), 2 ** 70).map(str),
                   st.sampled_from(["", "abc", "1e9", "NaN", "٣", "0x1f", " 1", "1.5", "-0"]))
# The arguments the staff desk's buttons check before anything changes: a reason with the request's state
# (s:why / s:fin), a colleague's id (s:hand_to), a day of the booking (c:day), a question and its answer (hc).
version = st.one_of(st.sampled_from(["00000000", "ffffffff", "", "0000000g", "1234567"]),
                    st.text("0123456789abcdef", min_size=8, max_size=8))
reason_arg = st.builds(lambda kind, reason, v: f"{kind}.{reason}.{v}", st.sampled_from(["r", "c", "x", ""]),
                       st.sampled_from(["helped", "referred", "unreachable", "not_ours", "duplicate", "other", "nope",
                                        "HELPED", ""]), version)
desk_data = st.one_of(
    st.builds(lambda action, rid, arg: f"s:{action}:{rid}:{arg}", st.sampled_from(["why", "fin"]), number,
              st.one_of(reason_arg, short_text)),
    st.builds(lambda rid, who: f"s:hand_to:{rid}:{who}", number, st.one_of(number, short_text)),
    st.builds(lambda rid: f"s:handover:{rid}:", number),
    st.builds(lambda action, tid, rid: f"st:{action}:{tid}:{rid}", st.sampled_from(sorted(PREFIXES["st"]) + ["x"]),
              number, number),
    st.builds(lambda cid, answer: f"hc:{cid}:{answer}", number,
              st.one_of(st.sampled_from(["yes", "partly", "no", "YES", "maybe", ""]), short_text)),
    st.builds(lambda action, topic, day: f"c:{action}:{topic}.{day}", st.sampled_from(["book", "day", "slot"]),
              st.sampled_from(["psychological", "legal", "nope", ""]),
              st.one_of(st.sampled_from(["20261203", "20260229", "99999999", "0", "", "202612031000"]), short_text)),
    st.builds(lambda action, value: f"c:{action}:{value}", st.sampled_from(["callback", "callback_new", "cb_same"]),
              st.one_of(number, st.sampled_from(["psychological", "legal", "nope"]))),
)
forged_data = st.one_of(
    st.text(plain_char, max_size=64),
    st.builds(lambda prefix, action, rid, arg: f"{prefix}:{action}:{rid}:{arg}",
              st.sampled_from(sorted(PREFIXES)), st.one_of(st.sampled_from(sorted({a for v in PREFIXES.values()
                                                                                   for a in v})), short_text),
              number, st.one_of(st.just(""), short_text, number)),
    st.builds(lambda prefix, action: f"{prefix}:{action}", st.sampled_from(sorted(PREFIXES)), short_text),
    st.sampled_from(["", ":", "::::", "n", "n:", "r:open", "r:open:" + RID, "s:take:" + RID, "r:withdraw_yes:" + RID,
                     "s:to:" + RID + ":dsvp", "r:write:" + RID, "k:take:1", "a:send", "p:lang:xx", "n:svc:nope:-5",
                     "s:fin:" + RID + ":r.helped.00000000", "s:why:" + RID + ":c.other.00000000",
                     "s:handover:" + RID + ":", "s:hand_to:" + RID + ":1", "st:send:1:" + RID, "st:add:0:0",
                     "hc:1:no", "hc:" + RID + ":yes", "c:day:psychological.20261203"]),
    desk_data,
)
entity = st.fixed_dictionaries(
    {"type": st.sampled_from(["bold", "italic", "url", "text_link", "mention", "bot_command", "code", "pre",
                              "text_mention", "custom_emoji", "spoiler", "blockquote", "hashtag", "phone_number"]),
     "offset": st.integers(-3, 5000), "length": st.integers(-3, 5000)},
    optional={"url": st.sampled_from(["http://e.x", "javascript:alert(1)", "", "tg://user?id=1"]),
              "custom_emoji_id": st.text(max_size=5)},
)
raw_flags = st.fixed_dictionaries({}, optional={
    "edited": st.booleans(), "from_bot": st.booleans(), "sender_chat": st.booleans(), "reply": st.integers(0, 30),
    "thread": st.booleans(), "forward": st.booleans(), "entities": st.lists(entity, max_size=4),
})


def act(kind: str, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"kind": st.just(kind), **fields})


who = st.sampled_from(WHO)
where = st.sampled_from(["private", "group"])
actions = st.one_of(
    act("say", who=who, where=where, text=any_text, thread=st.integers(0, 5)),
    act("tap", who=who, where=where, pick=st.integers(0, 40)),
    act("tap", who=who, where=where, pick=st.integers(0, 40)),
    act("forge", who=who, where=where, pick=st.integers(0, 40), data=forged_data),
    act("replay_button", who=who, where=where, pick=st.integers(0, 400)),
    act("edit", who=who, where=where, pick=st.integers(0, 40), text=any_text),
    act("raw_text", who=who, where=where, text=any_text, flags=raw_flags),
    act("media", who=who, where=where, media=st.sampled_from(MEDIA), invented=st.booleans(),
        caption=st.one_of(st.none(), short_text, huge_text), flags=raw_flags),
    act("content", who=who, where=where, content=st.sampled_from(OTHER_CONTENT), text=short_text,
        whose=st.sampled_from(["own", "A", "B", "stranger"]), value=st.integers(-1000, 1000), flags=raw_flags),
    act("channel", edited=st.booleans(), text=any_text, media=st.one_of(st.none(), st.sampled_from(MEDIA))),
    act("member", who=who, where=st.sampled_from(["private", "group", "bound"]), mine=st.booleans(),
        old=st.sampled_from(["member", "administrator", "left", "kicked", "restricted", "creator"]),
        new=st.sampled_from(["member", "administrator", "left", "kicked", "restricted", "creator"])),
    act("unknown_chat", text=any_text, group=st.booleans(), user_id=st.integers(10 ** 9, 10 ** 10)),
    act("other_kind", who=who, update_kind=st.sampled_from(UPDATE_KINDS), text=short_text),
    act("malformed", shape=st.integers(0, 14), text=short_text, value=st.one_of(
        st.integers(), st.text(max_size=8), st.none(), st.booleans(), st.lists(st.integers(), max_size=2))),
    act("replay_update", pick=st.integers(0, 10_000)),
)


def draw_plan(count: int, fixed_seed: int) -> list[dict[str, Any]]:
    """`count` actions drawn deterministically: the seed fixes them, and no example database is kept."""
    plan: list[dict[str, Any]] = []
    round_ = 0
    while len(plan) < count:

        @seed(fixed_seed + round_)
        @settings(max_examples=count // 8 + 10, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def collect(data: st.DataObject) -> None:
            plan.extend(data.draw(st.lists(actions, min_size=1, max_size=30)))

        collect()
        round_ += 1
    return plan[:count]
