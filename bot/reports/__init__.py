"""Reports for administrators: figures per period, charts and spreadsheets. No Telegram types here."""
