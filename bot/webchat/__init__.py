"""The web chat: the same help in a chat on the community's website, for residents without Telegram.

A channel under aiogram, not a second set of dialogs: `session.py` is an in-process Bot API that keeps what the bot
sends a web resident in the web chat's tables (`store.py`), `channel.py` turns what the resident does in the browser
into Telegram-shaped updates for the same Dispatcher, and `http.py` serves the page, its JSON and the widget.
Web residents' user ids start at 2**53 (bot/storage/residents.py), so the outbox, the requests, consultations and
staff groups serve them unchanged; the Telegram bot hands whatever is addressed to a web resident to the web bot.
"""
