"""«Мої дані» files: a file too large for one Telegram document goes zipped, and stays readable."""
from __future__ import annotations

import io
import json
import zipfile

from bot import privacy


def test_a_small_file_goes_as_it_is() -> None:
    assert privacy.packed("my-data.txt", b"hello") == ("my-data.txt", b"hello")


def test_a_file_over_the_limit_goes_zipped(monkeypatch) -> None:
    monkeypatch.setattr(privacy, "ZIP_ABOVE", 1000)
    content = ("Звернення № 2026-000001\n" * 500).encode("utf-8")
    name, packed = privacy.packed("my-data.txt", content)
    assert name == "my-data.txt.zip" and len(packed) < len(content)
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        assert archive.read("my-data.txt") == content
    assert privacy.ZIP_ABOVE < privacy.DOCUMENT_LIMIT


def test_json_is_utf8_and_nothing_stored_is_empty() -> None:
    data = {"profile": {"language": "uk"}, "consent": None, "requests": [], "telegram_user_id": 1}
    assert privacy.is_empty(data)
    assert json.loads(privacy.to_json(data).decode("utf-8")) == data
    assert "uk" in privacy.to_json(data).decode("utf-8")
    assert not privacy.is_empty({**data, "requests": [{"number": "2026-000001"}]})
