#!/usr/bin/env python3
"""Converts parity-string lines between their escaped form (\\t \\r \\\\ \\xHH, so invalid UTF-8 can be written
in a text file) and raw bytes. Usage: tokenizer_fixture_escapes.py unescape|escape < in > out"""
import re
import sys


def unescape(line: bytes) -> bytes:
    def one(match):
        code = match.group(1)
        if code == b"t":
            return b"\t"
        if code == b"r":
            return b"\r"
        if code == b"\\":
            return b"\\"
        return bytes([int(code[1:], 16)])
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|t|r|\\)", one, line)


def escape(line: bytes) -> bytes:
    out = []
    for ch in line.decode("utf-8", "surrogateescape"):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif "\udc80" <= ch <= "\udcff":
            out.append("\\x%02x" % (ord(ch) - 0xDC00))
        else:
            out.append(ch)
    return "".join(out).encode("utf-8")


convert = {"unescape": unescape, "escape": escape}[sys.argv[1]]
for raw in sys.stdin.buffer.read().split(b"\n")[:-1]:
    sys.stdout.buffer.write(convert(raw) + b"\n")
