#!/usr/bin/env python3
"""Builds the teacher corpus from unpacked Debian packages: extracts documents, normalises them, removes exact
duplicates, assigns each document to train / validation / test by a salted hash, and writes the three splits,
manifest.json and a copy of each package's copyright file (copyright/<package>). Standard library only. Driven
by scripts/build-corpus.sh, which downloads and unpacks the packages; run it directly only to rebuild from
packages already unpacked.

Usage: build_corpus.py --list-packages
       build_corpus.py --unpacked DIR --versions FILE --out DIR"""
import argparse
import fnmatch
import glob
import hashlib
import json
import os
import sys
import unicodedata

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import extract  # noqa: E402
from sources import SOURCES  # noqa: E402

SPLIT_SALT = b"dha-corpus-split-v1\0"
SAMPLE_SALT = b"dha-corpus-sample-v1\0"
SPLIT_FRACTIONS = (("test", 0.009), ("validation", 0.009))  # the rest is train
SPLITS = ("train", "validation", "test")
MIN_DOCUMENT_BYTES = 20
MAX_DOCUMENT_BYTES = 8192


def _character_table() -> dict:
    """str.translate table: control, format and private-use characters go (except newline and tab), Unicode
    spaces become ' ', line and paragraph separators become newlines. Code points this Python's Unicode
    database does not know yet are kept."""
    table = {}
    for code in range(0x110000):
        char = chr(code)
        category = unicodedata.category(char)
        if char in "\n\t":
            continue
        if category in ("Cc", "Cf", "Cs", "Co"):
            table[code] = None
        elif category == "Zs" and char != " ":
            table[code] = " "
        elif category in ("Zl", "Zp"):
            table[code] = "\n"
    return table


def normalise(text: str, table: dict) -> str:
    """NFC, no control characters, no trailing whitespace, no empty lines (so one empty line can separate
    documents unambiguously). Leading whitespace stays: it is the indentation of code and verse."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text).translate(table)
    lines = (line.rstrip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line.strip())


def chunk(document: str) -> list:
    """Splits documents longer than MAX_DOCUMENT_BYTES at line boundaries, so no single long manual section
    decides the size of a small split."""
    if len(document.encode("utf-8")) <= MAX_DOCUMENT_BYTES:
        return [document]
    chunks, current, size = [], [], 0
    for line in document.split("\n"):
        length = len(line.encode("utf-8")) + 1
        if current and size + length > MAX_DOCUMENT_BYTES:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += length
    chunks.append("\n".join(current))
    return chunks


def _unit_interval(salt: bytes, document: bytes) -> float:
    return int.from_bytes(hashlib.sha256(salt + document).digest()[:8], "big") / 2.0**64


def split_of(document: bytes) -> str:
    position, bound = _unit_interval(SPLIT_SALT, document), 0.0
    for name, fraction in SPLIT_FRACTIONS:
        bound += fraction
        if position < bound:
            return name
    return "train"


def source_files(source, root: str) -> list:
    files = set()
    for pattern in source.include:
        files.update(glob.glob(os.path.join(root, pattern), recursive=True))
    kept = [path for path in files
            if os.path.isfile(path) and not any(fnmatch.fnmatch(path, p) for p in source.exclude)]
    if not kept:
        raise SystemExit(f"build_corpus: {source.package}: no file matches {list(source.include)} under {root}")
    return sorted(kept)


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def extract_documents(source, files: list) -> tuple:
    """Raw documents of one source and the package-relative files they came from."""
    documents, used = [], []
    for path in files:
        if source.kind == "fortunes":
            documents += extract.fortunes(read_bytes(path))
            used.append(path)
        elif source.kind == "dictd":
            dictionary = path[:-len(".index")] + ".dict.dz"
            documents += extract.dictd(read_bytes(path), read_bytes(dictionary), path)
            used += [path, dictionary]
        elif source.kind == "html":
            documents += extract.html_sections(read_bytes(path))
            used.append(path)
        else:
            raise SystemExit(f"build_corpus: {source.package}: unknown kind {source.kind!r}")
    return documents, used


def read_versions(path: str) -> dict:
    versions = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                package, version = line.split()
                versions[package] = version
    return versions


def write_atomically(path: str, data: bytes) -> None:
    temporary = path + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def build(unpacked: str, versions: dict, out: str) -> dict:
    table = _character_table()
    seen = set()
    splits = {name: [] for name in SPLITS}
    source_entries, duplicates = [], 0
    for source in SOURCES:
        root = os.path.join(unpacked, source.package)
        if source.package not in versions:
            raise SystemExit(f"build_corpus: no version recorded for {source.package}")
        files = source_files(source, root)
        raw, used = extract_documents(source, files)
        counts = {name: 0 for name in SPLITS}
        contributed = 0
        for document in raw:
            for piece in chunk(normalise(document, table)):
                data = piece.encode("utf-8")
                if len(data) < MIN_DOCUMENT_BYTES:
                    continue
                if source.keep_fraction < 1.0 and _unit_interval(SAMPLE_SALT, data) >= source.keep_fraction:
                    continue
                digest = hashlib.sha256(data).digest()
                if digest in seen:
                    duplicates += 1
                    continue
                seen.add(digest)
                name = split_of(data)
                splits[name].append(data)
                counts[name] += 1
                contributed += len(data)
        copyright_text = read_bytes(os.path.join(root, source.copyright_path()))
        os.makedirs(os.path.join(out, "copyright"), exist_ok=True)
        write_atomically(os.path.join(out, "copyright", source.package), copyright_text)
        source_entries.append({
            "package": source.package,
            "version": versions[source.package],
            "licence": source.licence,
            "copyright_file": source.copyright_path(),
            "copyright_sha256": hashlib.sha256(copyright_text).hexdigest(),
            "extraction": source.kind,
            "keep_fraction": source.keep_fraction,
            "files": [os.path.relpath(path, root) for path in used],
            "documents": sum(counts.values()),
            "documents_per_split": counts,
            "bytes": contributed,
        })
        print(f"build_corpus: {source.package} {versions[source.package]}: {sum(counts.values())} documents, "
              f"{contributed} bytes", file=sys.stderr)
    split_entries = {}
    for name in SPLITS:
        data = b"\n\n".join(splits[name]) + (b"\n" if splits[name] else b"")
        write_atomically(os.path.join(out, f"{name}.txt"), data)
        split_entries[name] = {
            "file": f"{name}.txt",
            "bytes": len(data),
            "text_bytes": sum(len(document) for document in splits[name]),
            "documents": len(splits[name]),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    manifest = {
        "format": "dha-corpus-manifest",
        "format_version": 1,
        "builder": "scripts/build-corpus.sh",
        "split_salt": SPLIT_SALT.rstrip(b"\0").decode(),
        "sample_salt": SAMPLE_SALT.rstrip(b"\0").decode(),
        "split_fractions": dict(SPLIT_FRACTIONS),
        "unicode_version": unicodedata.unidata_version,
        "document_bytes": {"min": MIN_DOCUMENT_BYTES, "max": MAX_DOCUMENT_BYTES},
        "layout": "UTF-8 (NFC); a document is a run of non-empty lines; documents are separated by one empty "
                  "line; the file ends with a newline",
        "duplicates_removed": duplicates,
        "sources": source_entries,
        "splits": split_entries,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomically(os.path.join(out, "manifest.json"), text.encode("utf-8"))
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list-packages", action="store_true", help="print the source packages and exit")
    parser.add_argument("--unpacked", help="directory holding one unpacked package per subdirectory")
    parser.add_argument("--versions", help="file of 'package version' lines")
    parser.add_argument("--out", help="output directory")
    args = parser.parse_args()
    if args.list_packages:
        print("\n".join(source.package for source in SOURCES))
        return 0
    if not (args.unpacked and args.versions and args.out):
        parser.error("--unpacked, --versions and --out are required")
    os.makedirs(args.out, exist_ok=True)
    manifest = build(args.unpacked, read_versions(args.versions), args.out)
    for name, entry in manifest["splits"].items():
        print(f"build_corpus: {name}: {entry['documents']} documents, {entry['bytes']} bytes, "
              f"sha256 {entry['sha256']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
