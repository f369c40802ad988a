"""Printable QR sheets: the code of a deep link with the name of what it opens under it, as PNG and SVG.

segno makes the QR matrix; the PNG is drawn with Pillow and the SVG is written here around the same
matrix, so both show the same code and the same lines of text at the same places. Text is set in DejaVu
Sans (it has Cyrillic), the copy matplotlib ships, or the system's.
"""
from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional
from xml.sax.saxutils import escape, quoteattr

from bot import links
from bot.labels import shorten
from bot.msgid import N_

WIDTH = 1240  # A4 at 150 dpi: 1240 × 1754
MIN_HEIGHT = 1754
MARGIN = 90
QR_SIDE = 1000  # the code with its quiet zone, at most
QUIET_ZONE = 4
TITLE_SIZES = (76, 66, 56, 48, 40)
TITLE_MAX_LINES = 4
SUBTITLE_SIZE = 44
HINT_SIZE = 34
LINK_SIZE = 30
INK = "#000000"
GREY = "#444444"
FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
SYSTEM_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


class QrError(RuntimeError):
    """A sheet cannot be made here (no font with Cyrillic letters)."""


@dataclass(frozen=True)
class Line:
    text: str
    y: int  # baseline
    size: int
    bold: bool
    colour: str


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    qr_left: int
    qr_top: int
    module: int  # pixels per module
    matrix: tuple[tuple[bool, ...], ...]  # with the quiet zone
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Sheet:
    url: str
    png: bytes
    svg: str


def _font_dirs() -> list[Path]:
    dirs = []
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            dirs.append(Path(location) / "mpl-data" / "fonts" / "ttf")
    return dirs + list(SYSTEM_FONT_DIRS)


@lru_cache(maxsize=None)
def font_path(weight: str) -> Path:
    for folder in _font_dirs():
        candidate = folder / FONT_FILES[weight]
        if candidate.is_file():
            return candidate
    raise QrError("DejaVu Sans is not found (it comes with matplotlib, or Debian's fonts-dejavu-core)")


@lru_cache(maxsize=64)
def _font(size: int, bold: bool):
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path("bold" if bold else "regular")), size)


def _wrap(text: str, size: int, bold: bool, width: int) -> list[str]:
    """Greedy word wrap measured with the real font; a word longer than the line is cut."""
    font = _font(size, bold)
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > width:
            cut = len(word)
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def fit_lines(lines: list[str], size: int, width: int) -> list[str]:
    """A title that needs more than TITLE_MAX_LINES lines even at the smallest size ends at a word boundary with
    an ellipsis on its last line."""
    if len(lines) <= TITLE_MAX_LINES:
        return lines
    font = _font(size, True)
    rest = " ".join(lines[TITLE_MAX_LINES - 1:])
    return lines[:TITLE_MAX_LINES - 1] + [shorten(rest, width, font.getlength)]


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code of the link (error correction Q: a printed code survives a stain), with its quiet zone. segno
    is imported here, on the first sheet, not when the bot starts."""
    import segno

    code = segno.make(url, error="q", micro=False, boost_error=False)
    rows = [tuple(bool(cell) for cell in row) for row in code.matrix]
    side = len(rows) + 2 * QUIET_ZONE
    blank = tuple(False for _ in range(side))
    pad = tuple(False for _ in range(QUIET_ZONE))
    return tuple([blank] * QUIET_ZONE + [pad + row + pad for row in rows] + [blank] * QUIET_ZONE)


def layout(url: str, title: str, subtitle: str = "", hint: str = "", link_text: Optional[str] = None) -> Layout:
    matrix = qr_matrix(url)
    module = max(QR_SIDE // len(matrix), 4)
    side = module * len(matrix)
    qr_left = (WIDTH - side) // 2
    qr_top = MARGIN // 2
    text_width = WIDTH - 2 * MARGIN
    for size in TITLE_SIZES:
        title_lines = _wrap(title, size, True, text_width)
        if len(title_lines) <= TITLE_MAX_LINES:
            break
    title_lines = fit_lines(title_lines, size, text_width)
    lines: list[Line] = []
    y = qr_top + side + MARGIN // 3
    for text in title_lines:
        y += int(size * 1.25)
        lines.append(Line(text, y, size, True, INK))
    if subtitle:
        y += SUBTITLE_SIZE // 2
        for text in _wrap(subtitle, SUBTITLE_SIZE, False, text_width):
            y += int(SUBTITLE_SIZE * 1.3)
            lines.append(Line(text, y, SUBTITLE_SIZE, False, INK))
    if hint:
        y += HINT_SIZE // 2
        for text in _wrap(hint, HINT_SIZE, False, text_width):
            y += int(HINT_SIZE * 1.35)
            lines.append(Line(text, y, HINT_SIZE, False, INK))
    y += LINK_SIZE // 2
    for text in _wrap(link_text if link_text is not None else url, LINK_SIZE, False, text_width):
        y += int(LINK_SIZE * 1.4)
        lines.append(Line(text, y, LINK_SIZE, False, GREY))
    height = max(MIN_HEIGHT, y + MARGIN)
    return Layout(WIDTH, height, qr_left, qr_top, module, matrix, tuple(lines))


def render_png(sheet: Layout) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (sheet.width, sheet.height), 255)
    draw = ImageDraw.Draw(image)
    m = sheet.module
    for r, row in enumerate(sheet.matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = sheet.qr_left + c * m, sheet.qr_top + r * m
                draw.rectangle((x, y, x + m - 1, y + m - 1), fill=0)
    for line in sheet.lines:
        shade = 0 if line.colour == INK else 0x44
        draw.text((sheet.width // 2, line.y), line.text, font=_font(line.size, line.bold), fill=shade, anchor="ms")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, dpi=(150, 150))
    return out.getvalue()


def svg_path(sheet: Layout) -> str:
    """The dark modules as one path: a rectangle for each run of dark modules in a row."""
    parts = []
    for r, row in enumerate(sheet.matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            parts.append(f"M{start} {r}h{c - start}v1h-{c - start}z")
    return "".join(parts)


def render_svg(sheet: Layout, title: str = "") -> str:
    m = sheet.module
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{sheet.width}" height="{sheet.height}" '
        f'viewBox="0 0 {sheet.width} {sheet.height}">',
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{sheet.width}" height="{sheet.height}" fill="#ffffff"/>')
    out.append(f'<path transform="translate({sheet.qr_left} {sheet.qr_top}) scale({m})" fill="{INK}" '
               f'shape-rendering="crispEdges" d="{svg_path(sheet)}"/>')
    for line in sheet.lines:
        weight = ' font-weight="bold"' if line.bold else ""
        out.append(f'<text x="{sheet.width // 2}" y="{line.y}" text-anchor="middle" '
                   f'font-family={quoteattr(FONT_FAMILY)} font-size="{line.size}"{weight} fill="{line.colour}">'
                   f'{escape(line.text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def make_sheet(url: str, title: str, subtitle: str = "", hint: str = "") -> Sheet:
    """The printable sheet of a deep link: its QR code, `title` in large letters, `subtitle`, `hint`, and the link
    in small letters."""
    sheet = layout(url, title, subtitle, hint, url.removeprefix("https://"))
    return Sheet(url=url, png=render_png(sheet), svg=render_svg(sheet, title))


def file_stem(community: str, kind: str, target: Optional[str], campaign_id: Optional[int] = None) -> str:
    """A file name for a sheet: lutsk-service-home-care, lutsk-consultation-legal, lutsk-community."""
    stem = "-".join(part for part in (community, kind, target) if part)
    return f"{stem}-k{campaign_id}" if campaign_id else stem


# ----- what a sheet says --------------------------------------------------------------------------------------

HINT = N_("Point your phone's camera at the code: it opens in Telegram")
TOPIC_TITLE = N_("Online consultation: {topic}")
COMMUNITY_SUBTITLE = N_("Social services and help for residents")


def sheet_for(catalogue: Any, bot_username: str, kind: str, community: str, target: Optional[str] = None,
              campaign_id: Optional[int] = None, locale: str = "uk",
              gettext: Callable[[str], str] = lambda text: text) -> tuple[str, Sheet]:
    """The sheet of a link to a service, a consultation topic or a community, with the file name to give it.
    `gettext` translates into `locale`. Raises LinkError for a link that cannot be made, KeyError for an id
    that is not in the catalogue."""
    view = catalogue.communities[community]
    community_name = view.model.name.get(locale)
    if kind == links.SERVICE:
        title, subtitle = view.services[target].name.get(locale), community_name
    elif kind == links.CONSULTATION:
        topic = {t.id: t for t in catalogue.consultation_topics}[target]
        title, subtitle = gettext(TOPIC_TITLE).format(topic=topic.name.get(locale)), community_name
    else:
        title, subtitle = community_name, gettext(COMMUNITY_SUBTITLE)
    url = links.deep_link(bot_username, links.payload_for(kind, community, target, campaign_id))
    return file_stem(community, kind, target, campaign_id), make_sheet(url, title, subtitle, gettext(HINT))
