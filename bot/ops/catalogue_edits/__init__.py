"""The community keeps its own catalogue: the versions of its corrections, importing an edited workbook, undo and
history, for /catalogue in the bot (dialogs/admin/catalogue.py) and `python -m bot catalogue` on the server.

The corrections live in the database (tables catalogue_versions and catalogue_imports, migration 0011), so backups
carry them and data/ stays the shipped baseline: nothing here writes to data/. The bot serves data/ with each
community's latest overlay (bot/catalogue/overlay.py), swapped in by `reload_catalogue` (bot/ops/catalogue.py)
like /reload_data; a change made on the server is picked up by the running bot within a housekeeping round.

- versions.py: the versions and held imports in the database (all their SQL), `Edit`, the refusals;
- workbooks.py: exporting a community's workbook and checking an edited one (`prepare_import`);
- serving.py: in the running bot, applying, undoing and picking up a change made on the server;
- texts.py: what people read (the diff, the history, the undo question);
- command_line.py: `python -m bot catalogue export | import | history | undo`.

Nothing is imported here: import the module you need, so that none of them pulls in the others.
"""
