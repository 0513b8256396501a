"""People's names as offices type them: one person is one name, whatever the spacing.

"刘　倩" (padded with a full-width space), "陈 静", "孙明（股长）" and a name pasted with a
zero-width space are the same people as 刘倩, 陈静 and 孙明 (whose title is 股长). Pure
functions: the importer, the officials commands and the migration that merges old duplicates
all use these, so no look-alike second person can appear.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_LATIN_GAP = re.compile(r"(?<=[A-Za-z.])\s+(?=[A-Za-z])")
_TRAILING_TITLE = re.compile(r"^(.+?)\(([^()]+)\)$")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})


def _visible(text: str) -> str:
    """Control and format characters (zero-width spaces, BOM, bidi marks) removed."""
    return "".join(
        " " if ch in "\t\n\r\v\f" else ch
        for ch in text
        if ch in "\t\n\r\v\f" or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
    )


def clean_name(text: str) -> str:
    """Full-width folded, invisible characters dropped, spaces removed (one kept between Latin words)."""
    text = _visible(unicodedata.normalize("NFKC", text)).strip()
    text = _LATIN_GAP.sub("\0", text)
    return _SPACES.sub("", text).replace("\0", " ")


@lru_cache(maxsize=1 << 16)  # a ledger names the same few people on thousands of rows
def split_name_title(text: str) -> tuple[str, str]:
    """'孙明（股长）' -> ('孙明', '股长'); a name without a trailing （职务） has no title."""
    name = clean_name(text)
    match = _TRAILING_TITLE.match(name)
    if match is None:
        return name, ""
    return match.group(1), match.group(2)
