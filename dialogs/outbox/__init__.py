"""The Telegram side of the outbox (bot/delivery/): `sender.TelegramSender` hands each row to the module of its
kind (requests, consultations, administrators' notices, erased cards); `telegram` holds the Bot API's errors,
translations outside handlers and the re-posting of a card deleted by hand; `cards` how the staff cards read.
Nothing is imported here, so that `dialogs.outbox.telegram` can be imported alone (the campaign view does)."""
