"""An HTML page as the tests read it, with the standard library's parser (no lxml)."""

from __future__ import annotations

import urllib.parse
from html.parser import HTMLParser


class Page(HTMLParser):
    """Collects what a page loads and shows: tags, attributes, table rows, text."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._raw = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._raw = tag in ("script", "style")
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        self._raw = False
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._raw:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def words(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self.text).split())

    def attributes(self, name: str) -> list[str]:
        return [a[name] for _, a in self.tags if a.get(name)]

    def svgs(self) -> list[str]:
        prefix = "data:image/svg+xml,"
        return [urllib.parse.unquote(src[len(prefix):]) for src in self.attributes("src") if src.startswith(prefix)]
