#!/bin/sh
# Builds the teacher's English corpus (train / validation / test + manifest.json) from Debian main packages.
#
# Usage: scripts/build-corpus.sh [--debs DIR] [OUT_DIR]      (OUT_DIR defaults to build/corpus)
#   --debs DIR   use the .deb files in DIR (one per source package) instead of downloading the candidates;
#                this is how a corpus is rebuilt byte for byte from the package versions its manifest records.
#
# The packages are fetched with `apt-get download` (no root needed, but the apt lists must be current; as root the
# script runs `apt-get update` itself when a download fails) and unpacked with `dpkg-deb -x`, never installed. The
# text extraction is scripts/corpus/build_corpus.py (Python 3 standard library). The list of packages, their
# licences and the files used live in scripts/corpus/sources.py. Same package versions give byte-identical output.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
debs=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debs) [ $# -ge 2 ] || { echo "build-corpus: --debs needs a directory" >&2; exit 2; }; debs=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "build-corpus: unknown option $1" >&2; exit 2 ;;
        *) [ -z "$out" ] || { echo "build-corpus: one output directory only" >&2; exit 2; }; out=$1; shift ;;
    esac
done
[ -n "$out" ] || out="$root/build/corpus"

# Debian's interpreter when there is one: its Unicode tables (NFC) are part of what makes the output reproducible.
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
for tool in dpkg-deb "$python"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build-corpus: $tool not found (apt-get install dpkg python3)" >&2; exit 1; }
done
builder="$root/scripts/corpus/build_corpus.py"
packages=$("$python" "$builder" --list-packages)
start=$(date +%s)

mkdir -p "$out"
out=$(cd "$out" && pwd)
mkdir -p "$out/debs"
if [ -n "$debs" ]; then
    debs=$(cd "$debs" && pwd)
    if [ "$debs" != "$out/debs" ]; then
        rm -f "$out/debs/"*.deb
        for package in $packages; do
            set -- "$debs/${package}_"*.deb
            if [ $# -ne 1 ] || [ ! -f "$1" ]; then
                echo "build-corpus: need exactly one ${package}_*.deb in $debs" >&2
                exit 1
            fi
            cp "$1" "$out/debs/"
        done
    fi
else
    command -v apt-get >/dev/null 2>&1 || { echo "build-corpus: apt-get not found: this script needs Debian's apt" >&2; exit 1; }
    # As root, apt would drop privileges to _apt, which cannot write here: download as root instead.
    sandbox=""
    [ "$(id -u)" -eq 0 ] && sandbox="-o APT::Sandbox::User=root"
    rm -f "$out/debs/"*.deb
    # shellcheck disable=SC2086 # $sandbox and $packages are word lists
    if ! (cd "$out/debs" && apt-get -q $sandbox download $packages); then
        if [ "$(id -u)" -eq 0 ]; then
            echo "build-corpus: apt-get download failed; refreshing the package lists with apt-get update" >&2
            apt-get -q update
            # shellcheck disable=SC2086
            (cd "$out/debs" && apt-get -q $sandbox download $packages) || {
                echo "build-corpus: apt-get download failed even after apt-get update: check the network and that" \
                     "Debian 12 main is in /etc/apt/sources.list" >&2; exit 1; }
        else
            echo "build-corpus: apt-get download failed. The apt package lists are probably missing or stale:" \
                 "run 'sudo apt-get update' (or this script as root) and try again, or pass --debs DIR with" \
                 "the .deb files." >&2
            exit 1
        fi
    fi
fi

# Unpack each package and record its version.
rm -rf "$out/unpacked"
mkdir -p "$out/unpacked"
: > "$out/unpacked/versions.txt"
for package in $packages; do
    set -- "$out/debs/${package}_"*.deb
    if [ $# -ne 1 ] || [ ! -f "$1" ]; then
        echo "build-corpus: expected one ${package}_*.deb in $out/debs" >&2
        exit 1
    fi
    name=$(dpkg-deb -f "$1" Package)
    [ "$name" = "$package" ] || { echo "build-corpus: $1 holds package $name, not $package" >&2; exit 1; }
    echo "$package $(dpkg-deb -f "$1" Version)" >> "$out/unpacked/versions.txt"
    dpkg-deb -x "$1" "$out/unpacked/$package"
done

"$python" "$builder" --unpacked "$out/unpacked" --versions "$out/unpacked/versions.txt" --out "$out"
rm -rf "$out/unpacked"
echo "build-corpus: wrote $out/{train,validation,test}.txt, manifest.json and copyright/ in $(( $(date +%s) - start )) s"
