"""A resident for scripts and tests that look at the chat as a person does: what the bot shows, which buttons
are there, and a tap that waits for a new message or for the screen to change."""
from __future__ import annotations

from typing import Any

from .client import Message, Resident, SandboxClient, inline_buttons


class Person(Resident):
    """A resident who sees what the bot shows and taps buttons.

    ``say`` (inherited) sends text and waits for ``count`` new bot messages. ``tap`` presses an
    inline button of the newest message that has it, or a reply-keyboard button, and waits for
    ``new`` new bot messages, or, with ``new=0``, for the screen to change (an edit).
    """

    def __init__(self, client: SandboxClient, user: dict[str, Any]) -> None:
        super().__init__(client, user, settle=0.0)

    def message(self, message_id: int) -> Message:
        return next(m for m in self.received if m["message_id"] == message_id)

    @property
    def keyboard(self) -> list[str]:
        """The reply keyboard the resident sees now."""
        markup = (self.reply_keyboard or {}).get("markup") or {}
        return [b["text"] for row in markup.get("keyboard", []) for b in row]

    async def tap(  # type: ignore[override]
        self, text: str, *, new: int = 0, timeout: float | None = None, expect: bool = True, count: int = 0
    ) -> list[Message]:
        chat = await self.client.chat(self.chat_id)
        rev = chat["rev"]
        self.received = [m for m in chat["messages"] if m.get("sender") == "bot" and not m.get("service")]
        self.reply_keyboard = chat.get("reply_keyboard")
        if chat["messages"]:
            self._last_id = max(self._last_id, max(m["message_id"] for m in chat["messages"]))
        target = next((m for m in reversed(self.received) if any(b["text"] == text for b in inline_buttons(m))), None)
        if target is None:
            if text in self.keyboard:
                return await self.say(text, count=max(new, count, 1), timeout=timeout, expect=expect)
            raise AssertionError(f"{self.name}: no button {text!r}; visible: {self.buttons}")
        query = await self.client.press(self.id, target, text)
        self.last_answer = await self.client.callback_answer(query, timeout)
        if not expect:
            return []
        if new:
            await self.client.wait_bot_messages(self.chat_id, self._last_id, new, timeout)
        result = await self.client.wait(self.chat_id, self._last_id, 1, 0 if new else timeout, since_rev=rev)
        changed = [m for m in result["edited"] if not m.get("deleted")] + result["messages"]
        if not changed:
            raise AssertionError(f"{self.name}: the bot did not answer the button {text!r}")
        self._absorb(changed)
        self.reply_keyboard = result.get("reply_keyboard")
        return changed

    async def forge(self, message: Message | int, data: str, timeout: float | None = None) -> dict[str, Any]:
        """Press a button that is not there (callback data of our own) and return the bot's answer."""
        query = await self.client.press_data(self.id, message, data, force=True)
        return await self.client.callback_answer(query, timeout)
