"""Validation of ``reply_markup``: inline keyboards, reply keyboards, removal and force reply."""

from __future__ import annotations

from typing import Any

from .errors import bad_request

INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
REPLY_REQUESTS = ("request_users", "request_chat", "request_contact", "request_location", "request_poll", "web_app")
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any]:
    """Return the markup as stored on the message, or raise Telegram's error."""
    if not isinstance(markup, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_keyboard(markup["inline_keyboard"])}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        return _reply_keyboard(markup)
    if "remove_keyboard" in markup:
        result: dict[str, Any] = {"remove_keyboard": True}
        if markup.get("selective"):
            result["selective"] = True
        return result
    if "force_reply" in markup:
        result = {"force_reply": True}
        for key in ("input_field_placeholder", "selective"):
            if markup.get(key):
                result[key] = markup[key]
        return result
    raise bad_request(
        "can't find reply markup type: inline_keyboard, keyboard, remove_keyboard or force_reply expected"
    )


def _rows(rows: Any, field: str, owner: str) -> list[list[Any]]:
    if not isinstance(rows, list):
        raise bad_request(f'field "{field}" of the {owner} must be an Array')
    if not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" of the {owner} must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return rows


def _inline_keyboard(rows: Any) -> list[list[dict[str, Any]]]:
    checked = _rows(rows, "inline_keyboard", "InlineKeyboardMarkup")
    return [[_inline_button(button) for button in row] for row in checked if row]


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [key for key in INLINE_ACTIONS if key in button and button[key] is not None]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request("can't parse inline keyboard button: exactly one of the optional fields must be used")
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions and not _valid_url(button["url"]):
        raise bad_request("BUTTON_URL_INVALID")
    return {key: button[key] for key in ("text", *actions, "style") if key in button}


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str) or not url.strip():
        return False
    lowered = url.lower()
    return lowered.startswith(("http://", "https://", "tg://")) or ("." in lowered and " " not in lowered)


def _reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    checked = _rows(markup["keyboard"], "keyboard", "ReplyKeyboardMarkup")
    rows = [[_reply_button(button) for button in row] for row in checked if row]
    if not rows:
        raise bad_request("keyboard must be non-empty")
    result: dict[str, Any] = {"keyboard": rows}
    for key in ("is_persistent", "resize_keyboard", "one_time_keyboard", "input_field_placeholder", "selective"):
        if markup.get(key):
            result[key] = markup[key]
    return result


def _reply_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict):
        raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
    if not isinstance(button.get("text"), str) or not button["text"].strip():
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    requests = [key for key in REPLY_REQUESTS if button.get(key)]
    if len(requests) > 1:
        raise bad_request("can't parse keyboard button: only one of the optional fields can be used")
    return {key: button[key] for key in ("text", *requests) if key in button}


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All buttons of an inline keyboard, row by row."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]
