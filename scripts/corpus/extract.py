"""Turns the files of one unpacked Debian package into raw documents (fortune files, dictd databases, HTML
manuals). Normalisation, de-duplication and splitting happen later in build_corpus.py; this module only finds
document boundaries and drops markup and navigation."""
import gzip
import html.parser
import re

# ---------------------------------------------------------------------------------------------------- fortunes


def fortunes(data: bytes) -> list:
    """A fortune file: entries separated by lines holding a single '%'. Overstrike sequences (x BS x, _ BS x),
    used for bold and underline on old terminals, keep only the struck character."""
    text = decode(data)
    text = re.sub(r".\x08", "", text)
    return re.split(r"^%[ \t]*$", text, flags=re.M)


# ------------------------------------------------------------------------------------------------------ dictd

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# GCIDE marks where each sense came from on a line of its own: "[1913 Webster]", "[PJC]", "[WordNet 1.5]".
_ATTRIBUTION = re.compile(r"^\s*(\[(1913 Webster|Webster 1913 Suppl\.|WordNet 1\.5|PJC|Century Dict\.|"
                          r"RHG|JC|F\. H\. Dixon|Chambers 1881|Nuttall|Aud|[A-Z][A-Za-z.]{0,12} \d{4})\]\s*)+$")

_BOX_DRAWING = re.compile("[\u2500-\u257f]")


def _b64number(text: str, path: str) -> int:
    value = 0
    for char in text:
        digit = _B64.find(char)
        if digit < 0:
            raise ValueError(f"{path}: bad base64 number {text!r} in the index")
        value = value * 64 + digit
    return value


def dictd(index: bytes, dict_dz: bytes, path: str) -> list:
    """A dictd database: the .index maps headwords to (offset, length) in the gzip/dictzip-compressed .dict.
    Each distinct entry is one document, in file order; the '00-database-*' entries are metadata."""
    body = gzip.decompress(dict_dz)
    spans = set()
    for line in decode(index).split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise ValueError(f"{path}: index line without offset and length: {line[:60]!r}")
        if fields[0].startswith("00-database") or fields[0].startswith("00database"):
            continue
        offset, length = _b64number(fields[1], path), _b64number(fields[2], path)
        if offset + length > len(body):
            raise ValueError(f"{path}: entry {fields[0]!r} lies past the end of the dictionary")
        spans.add((offset, length))
    documents = []
    for offset, length in sorted(spans):
        documents.append(reflow(decode(body[offset:offset + length])))
    return documents


def reflow(entry: str) -> str:
    """Joins hard-wrapped dictionary lines into one line per paragraph. A line continues the previous one when
    the previous line was long (so it was wrapped, not ended) and the line is indented at least as deeply; short
    lines (verse, headwords, quotations) stay as they are. Cross-reference braces, the alignment spaces before
    attributions and box-drawn tables (like the HTML tables the manuals lose) go."""
    out = []
    previous_indent, previous_length = 0, 0
    for raw in entry.split("\n"):
        if _ATTRIBUTION.match(raw) or _BOX_DRAWING.search(raw):
            continue
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if not stripped:
            out.append("")
            previous_length = 0
            continue
        if out and out[-1] and previous_length >= 50 and indent >= previous_indent:
            out[-1] += " " + stripped
        else:
            out.append(stripped)
        previous_indent, previous_length = indent, len(raw.rstrip())
    text = "\n".join(out)
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", text)


# ------------------------------------------------------------------------------------------------------- HTML

_BLOCK = {"p", "div", "section", "article", "li", "ul", "ol", "dl", "dt", "dd", "pre", "blockquote", "br",
          "h1", "h2", "h3", "h4", "h5", "h6", "tr", "hr", "figure", "figcaption", "caption", "title"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source", "embed"}
_SKIP_TAGS = {"script", "style", "head", "nav", "header", "footer", "table", "form", "button", "noscript", "svg"}
# Navigation, tables of contents and permalinks of Sphinx, DocBook and Publican pages, and tables with their
# captions (DocBook wraps both in div.table): cells torn out of their grid read as noise.
_SKIP_CLASSES = {"related", "sphinxsidebar", "footer", "headerlink", "navheader", "navfooter", "toc", "docnav",
                 "mobile-nav", "breadcrumbs", "list-of-tables", "list-of-figures", "list-of-examples",
                 "version_switcher_placeholder", "language_switcher_placeholder", "clearer", "inline-search",
                 "legalnotice", "copyright", "authorgroup", "revhistory", "footnotes", "toctree-wrapper",
                 "contents", "indexterm", "table", "informaltable"}
_SKIP_IDS = {"banner", "title"}  # Publican's "Download the ebook" banner and its logo bar
_SKIP_ROLES = {"navigation", "search", "contentinfo"}
_SECTION_HEADINGS = {"h1", "h2", "h3"}


class _HtmlText(html.parser.HTMLParser):
    """Collects the text of a page's main content as lines, starting a new document at every h1-h3 heading
    that follows some body text (so a chapter title stays with its first section)."""

    def __init__(self, main_only: bool):
        super().__init__(convert_charrefs=True)
        self.documents = [[]]          # lists of lines
        self.has_body = False          # the current document has text besides headings
        self._line = []                # pieces of the current line
        self._skip = []                # stack of (tag, depth) of skipped subtrees
        self._main_depth = 0 if main_only else 1
        self._main_tag = None
        self._pre = 0
        self._heading = 0

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            if tag in _BLOCK and not self._skip and self._main_depth:
                self._break()
            return
        if self._skip:
            if tag == self._skip[-1][0]:
                self._skip[-1][1] += 1
            return
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        if (tag in _SKIP_TAGS or classes & _SKIP_CLASSES or attributes.get("role") in _SKIP_ROLES
                or attributes.get("id") in _SKIP_IDS):
            self._skip.append([tag, 1])
            return
        if not self._main_depth:
            if attributes.get("role") == "main":
                self._main_depth, self._main_tag = 1, tag
            return
        if self._main_tag == tag:
            self._main_depth += 1
        if tag in _BLOCK:
            self._break()
        if tag in _SECTION_HEADINGS and self.has_body:
            self.documents.append([])
            self.has_body = False
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading += 1
        if tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if self._skip:
            if tag == self._skip[-1][0]:
                self._skip[-1][1] -= 1
                if self._skip[-1][1] == 0:
                    self._skip.pop()
            return
        if not self._main_depth:
            return
        if tag in _BLOCK:
            self._break()
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading = max(0, self._heading - 1)
        if self._main_tag == tag:
            self._main_depth -= 1

    def handle_data(self, data):
        if self._skip or not self._main_depth:
            return
        if self._pre:
            lines = data.split("\n")
            for i, line in enumerate(lines):
                if i:
                    self._break(keep_indent=True)
                self._line.append(line)
        else:
            self._line.append(re.sub(r"\s+", " ", data))

    def _break(self, keep_indent=False):
        line = "".join(self._line)
        self._line = []
        line = line.rstrip() if (keep_indent or self._pre) else line.strip()
        if not line.strip():
            return
        self.documents[-1].append(line)
        if not self._heading:
            self.has_body = True

    def close(self):
        super().close()
        self._break()


def html_sections(data: bytes) -> list:
    """The main text of one HTML page, one document per h1-h3 section. Pages that mark their main content with
    role="main" (Sphinx) contribute only that element; the others contribute their body minus navigation."""
    text = decode(data)
    parser = _HtmlText(main_only='role="main"' in text)
    parser.feed(text)
    parser.close()
    return ["\n".join(lines) for lines in parser.documents if lines]


# ---------------------------------------------------------------------------------------------------- helpers


def decode(data: bytes) -> str:
    """UTF-8 when it is valid (almost every file), otherwise Latin-1 (a few old fortune files)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
