"""The Debian packages the teacher corpus is built from: which files of each are read, how, and under what
licence (checked by hand against each package's /usr/share/doc/<package>/copyright; all are in Debian main)."""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Source:
    package: str
    licence: str             # SPDX-style summary of the licence covering the text used
    kind: str                # "fortunes", "dictd" or "html" (see extract.py)
    include: tuple           # glob patterns relative to the package root; dictd: the .index files
    exclude: tuple = ()      # fnmatch patterns removed from the matches
    keep_fraction: float = 1.0  # documents kept, chosen by a salted hash so the choice is stable
    copyright: str = ""      # path of the package's copyright file (default /usr/share/doc/<package>/copyright)

    def copyright_path(self) -> str:
        return self.copyright or f"usr/share/doc/{self.package}/copyright"


_FORTUNE_DATA = ("*.dat", "*.u8")

SOURCES = (
    # fortune-mod's cookie files. fortunes-off (the offensive set) is deliberately not used; ascii-art is
    # pictures, not text.
    Source("fortunes-min", "BSD-3-Clause", "fortunes", ("usr/share/games/fortunes/*",), _FORTUNE_DATA),
    Source("fortunes", "BSD-3-Clause", "fortunes", ("usr/share/games/fortunes/*",),
           _FORTUNE_DATA + ("*/ascii-art",)),
    # Dictionaries in dictd format: one document per entry.
    Source("dict-devil", "public-domain", "dictd", ("usr/share/dictd/devil.index",)),
    Source("dict-jargon", "public-domain", "dictd", ("usr/share/dictd/jargon.index",)),
    Source("dict-foldoc", "GFDL-1.1-or-later (no invariant sections)", "dictd",
           ("usr/share/dictd/foldoc.index",)),
    # GCIDE alone is 31 MB of entries; a fixed 40% sample keeps the dictionary from outweighing the prose.
    Source("dict-gcide", "GPL-2.0-or-later", "dictd", ("usr/share/dictd/gcide.index",), keep_fraction=0.4),
    # Manuals, one document per h1-h3 section.
    Source("python3.11-doc", "PSF-2.0", "html", ("usr/share/doc/python3.11/html/**/*.html",),
           ("*/genindex*.html", "*/py-modindex.html", "*/search.html", "*/contents.html", "*/license.html",
            "*/copyright.html", "*/download.html")),
    Source("debian-reference-en", "GPL-2.0-or-later", "html", ("usr/share/debian-reference/*.en.html",),
           ("*/index.en.html",)),
    Source("debian-faq", "permissive (SPI notice: verbatim and modified copies allowed)", "html",
           ("usr/share/doc/debian/FAQ/*.en.html",), ("*/index.en.html",)),
    Source("developers-reference", "GPL-2.0-or-later", "html", ("usr/share/developers-reference/*.html",),
           ("*/developers-reference.html", "*/index.html", "*/search.html")),
    Source("maint-guide", "GPL-2.0-or-later", "html", ("usr/share/doc/maint-guide/html/*.en.html",),
           ("*/index.en.html",)),
    Source("debian-handbook", "GPL-2.0-or-later OR CC-BY-SA-3.0", "html",
           ("usr/share/doc/debian-handbook/html/en-US/*.html",), ("*/index.html",)),
)
