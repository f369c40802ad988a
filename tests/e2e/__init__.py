"""End-to-end tests: the real bot polls the local Bot API sandbox over HTTP; residents act through it."""
