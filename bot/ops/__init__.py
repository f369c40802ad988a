"""Running the bot in production: health, doctor, backups, reloading data."""
