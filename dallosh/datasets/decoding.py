"""From an upload's bytes to text the CSV parser reads, without changing a character silently.

Analysts' exports come as UTF-8 (with or without a BOM), Excel's Windows-1252, UTF-16 (Excel's "Unicode text",
sometimes without a BOM), or a mix: two exports pasted together, or one row typed in another program. Every
decision is said in a note; anything that is not text at all is refused with what the file is and how to export a
CSV instead. A clean UTF-8 file is never copied or decoded whole: it is scanned in chunks (checksum, UTF-8
validity, line ends, NUL characters) and the parser reads it from where it lies.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dallosh.errors import InvalidDataset

#: Bytes looked at to recognise what kind of file this is (binary signatures, UTF-16 without a BOM).
SNIFF_BYTES = 64 * 1024
#: Chunk of the streaming scan: bounded memory whatever the file size.
CHUNK_BYTES = 4 * 1024 * 1024
#: Lines named in a note (the count says how many more).
LINES_NAMED = 5

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
_EXPORT_AS_CSV = ("Open it in the program that made it and export the tweets as CSV (in Excel: File › Save As › "
                  "CSV UTF-8), then upload that file.")
#: What other files look like, by their first bytes, and what to say about them.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or a ZIP archive", _EXPORT_AS_CSV),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)", _EXPORT_AS_CSV),
    (b"\x1f\x8b", "a compressed (gzip) file", "Decompress it first and upload the .csv inside."),
    (b"\xfd7zXZ\x00", "a compressed (xz) file", "Decompress it first and upload the .csv inside."),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "Extract it first and upload the .csv inside."),
    (b"%PDF-", "a PDF document", _EXPORT_AS_CSV),
    (b"\x89PNG", "an image (PNG)", _EXPORT_AS_CSV),
    (b"\xff\xd8\xff", "an image (JPEG)", _EXPORT_AS_CSV),
    (b"PAR1", "a Parquet file", _EXPORT_AS_CSV),
    (b"SQLite format 3\x00", "a SQLite database", _EXPORT_AS_CSV),
    (b"{\\rtf", "a Word/RTF document", _EXPORT_AS_CSV),
)
#: C0 control bytes that never appear in text (tab, line ends and form feeds do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13))
#: Windows-1252 for every byte; its five undefined bytes fall back to Latin-1 (control characters).
_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 (or not defined in Windows-1252) are read as Windows-1252,
    one by one, Latin-1 for the five bytes Windows-1252 leaves undefined."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error("dallosh-cp1252", _cp1252_fallback)


@dataclass
class Decoded:
    """What the parser reads and how it was obtained."""

    #: The upload's path (clean UTF-8 read where it lies), or its content as UTF-8 bytes.
    content: Path | bytes
    encoding: str
    sha256: str
    size: int
    #: "\n" or "\r": what ends lines in this file (old Mac exports use "\r" alone).
    line_break: str = "\n"
    #: A "\r" that does not end a line (as pandas' own to_csv writes one inside a field).
    bare_cr: bool = False
    crlf: bool = False
    #: The content differs from the upload's bytes, so the stored copy must be written from the parsed table.
    rewritten: bool = False
    notes: list[str] = field(default_factory=list)


def _chunks(source: Path | bytes) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), CHUNK_BYTES):
            yield source[start:start + CHUNK_BYTES]
        return
    with open(source, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk


def read_head(source: Path | bytes, size: int) -> bytes:
    """The first ``size`` bytes, without reading the rest of a file."""
    if isinstance(source, bytes):
        return source[:size]
    with open(source, "rb") as f:
        return f.read(size)


def _read_all(source: Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def line_list(numbers: list[int], total: int) -> str:
    """``3, 17 and 45`` or ``3, 17, 45, 60, 72 and 1,200 more``."""
    shown = [f"{n:,}" for n in numbers[:LINES_NAMED]]
    if total > len(shown):
        return ", ".join(shown) + f" and {total - len(shown):,} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def refuse_known_formats(head: bytes) -> None:
    """Refuse files recognised by their first bytes, saying what they are and what to upload instead."""
    for signature, what, todo in _SIGNATURES:
        if head.startswith(signature):
            raise InvalidDataset(f"This file is {what}, not a CSV: it contains binary data. {todo}")
    start = head[:256].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        raise InvalidDataset("This file is a web page (HTML), not a CSV export. " + _EXPORT_AS_CSV)


def refuse_binary(head: bytes) -> None:
    """Refuse content where control bytes are common (a stray NUL inside a tweet is text: kept and named)."""
    sniff = head[:SNIFF_BYTES]
    controls = sum(sniff.count(bytes([b])) for b in _CONTROL_BYTES)
    if sniff and controls > max(8, len(sniff) // 100):
        raise InvalidDataset("This file is not a text CSV (it contains binary data). Export the tweets as CSV "
                             "(UTF-8) and upload that file.")


def bomless_utf16(head: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when the text is UTF-16 without a byte-order mark (every other byte is 0)."""
    sample = head[:SNIFF_BYTES - SNIFF_BYTES % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.05 * odd:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * even:
        return "utf-16-be"
    return None


def _decode_whole(source: Path | bytes, encoding: str, what: str) -> tuple[str, bytes]:
    raw = _read_all(source)
    try:
        return raw.decode(encoding), raw
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise InvalidDataset(f"The file looks like {what} but is not valid {what} (around line {line:,}). Save it "
                             "again as CSV UTF-8 and upload that file.") from None


@dataclass
class _Scan:
    sha256: str = ""
    size: int = 0
    utf8: bool = True
    cr: int = 0
    crlf: int = 0
    nul: int = 0
    nul_lines: list[int] = field(default_factory=list)


def _scan(source: Path | bytes, line_break: bytes) -> _Scan:
    """One pass in chunks: checksum, UTF-8 validity, carriage returns, NUL characters (with their lines)."""
    scan, digest = _Scan(), hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before, ended_with_cr = 0, False
    for chunk in _chunks(source):
        digest.update(chunk)
        if scan.utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                scan.utf8 = False
        if b"\r" in chunk:
            scan.cr += chunk.count(b"\r")
            scan.crlf += chunk.count(b"\r\n")
        if ended_with_cr and chunk.startswith(b"\n"):
            scan.crlf += 1
        if b"\x00" in chunk:
            scan.nul += chunk.count(b"\x00")
            pos = chunk.find(b"\x00")
            while pos >= 0 and len(scan.nul_lines) <= LINES_NAMED:
                line = lines_before + chunk.count(line_break, 0, pos) + 1
                if line not in scan.nul_lines:
                    scan.nul_lines.append(line)
                pos = chunk.find(b"\x00", pos + 1)
        lines_before += chunk.count(line_break)
        ended_with_cr = chunk.endswith(b"\r")
        scan.size += len(chunk)
    if scan.utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.utf8 = False
    scan.sha256 = digest.hexdigest()
    return scan


def _excerpt(line: str, limit: int = 70) -> str:
    line = line.strip().replace("\r", " ")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _has_utf8_sequence(raw: bytes) -> bool:
    """Whether a file that is not valid UTF-8 still holds valid multi-byte UTF-8 characters: then two encodings are
    mixed (a pure Windows-1252 file practically never contains one).

    Decoded with ``surrogateescape``, invalid bytes become surrogates, which encode back to ASCII with the same
    handler; a real non-ASCII character does not. Both run at C speed, chunk by chunk (a byte-level regex took
    0.7 s on 33 MB)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    for start in range(0, len(raw), CHUNK_BYTES):
        text = decoder.decode(raw[start:start + CHUNK_BYTES])
        try:
            text.encode("ascii", errors="surrogateescape")
        except UnicodeEncodeError:
            return True
    return False


def _mixed(raw: bytes, line_break: bytes) -> tuple[bytes, list[int], list[str]]:
    """UTF-8 with some lines in Windows-1252: each such line is re-read byte by byte (valid UTF-8 sequences stay
    UTF-8), so one stray byte garbles nothing else. Returns (UTF-8 bytes, line numbers, excerpts)."""
    lines = raw.split(line_break)
    bad: list[int] = []
    excerpts: list[str] = []
    for i, line in enumerate(lines):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="dallosh-cp1252")
            lines[i] = text.encode("utf-8")
            bad.append(i + 1)
            if len(excerpts) < 2:
                excerpts.append(f"line {i + 1:,}: «{_excerpt(text)}»")
    return line_break.join(lines), bad, excerpts


def _legacy_lines(raw: bytes, line_break: bytes) -> list[int]:
    """The first few lines holding a byte above ASCII (for a note about a file that is almost pure ASCII)."""
    found: list[int] = []
    for match in re.finditer(rb"[\x80-\xff]", raw):
        line = raw.count(line_break, 0, match.start()) + 1
        if line not in found:
            found.append(line)
        if len(found) > LINES_NAMED:
            break
    return found


def _not_utf8(raw: bytes, decoded: Decoded, line_break: bytes) -> None:
    """A file that is not valid UTF-8: mixed (UTF-8 with some Windows-1252 lines) or wholly Windows-1252."""
    if _has_utf8_sequence(raw):
        content, bad, excerpts = _mixed(raw, line_break)
        decoded.content, decoded.encoding, decoded.rewritten = content, "utf-8 + windows-1252", True
        decoded.notes.append(
            f"The file mixes two encodings: {len(bad):,} line(s) are not UTF-8 (line {line_list(bad, len(bad))}); "
            "they were read as Windows-1252 (Excel's Western European encoding), the rest as UTF-8. Check the "
            f"accents of those lines, e.g. {'; '.join(excerpts)}.")
        return
    # The five bytes Windows-1252 leaves undefined are read as Latin-1 (control characters), one by one. The
    # parser reads UTF-8 bytes faster than text (0.36 s against 0.52 s for 33 MB).
    decoded.content = raw.decode("cp1252", errors="dallosh-cp1252").encode("utf-8")
    decoded.encoding = "cp1252"
    decoded.rewritten = True
    lines = _legacy_lines(raw, line_break)
    where = "" if len(lines) > LINES_NAMED else f" (non-ASCII characters on line {line_list(lines, len(lines))})"
    decoded.notes.append(f"The file is not UTF-8; it was read as {decoded.encoding} (Windows' Western European "
                         f"encoding, as Excel saves CSV){where} and will be stored as UTF-8. Check that accents "
                         "look right in the preview.")


def first_line_break(head: bytes) -> bytes:
    """b"\\r" for old Mac files (lines end with a carriage return alone), else b"\\n"."""
    lf, cr = head.find(b"\n"), head.find(b"\r")
    if cr >= 0 and (lf < 0 or cr < lf) and head[cr + 1:cr + 2] != b"\n":
        return b"\r"
    return b"\n"


def decode(source: Path | bytes, head: bytes, declared: str | None = None) -> Decoded:
    """Decode an upload (``head``: its first bytes, already read); raises InvalidDataset with what to do."""
    if head.startswith(_UTF32_BOMS):
        text, raw = _decode_whole(source, "utf-32", "UTF-32")
        return _text(text.lstrip("\ufeff"), raw, "utf-32", "The file is UTF-32; it is stored as UTF-8.")
    if head.startswith(_UTF16_BOMS):
        text, raw = _decode_whole(source, "utf-16", "UTF-16")
        return _text(text.lstrip("\ufeff"), raw, "utf-16", "The file is UTF-16; it is stored as UTF-8.")
    refuse_known_formats(head)
    utf16 = bomless_utf16(head)
    if utf16:
        text, raw = _decode_whole(source, utf16, "UTF-16")
        return _text(text, raw, utf16, "The file is UTF-16 without a byte-order mark (some Excel and Windows "
                                       "exports); it was read as such and is stored as UTF-8.")
    refuse_binary(head)
    if declared:
        raw = _read_all(source)
        try:
            text = raw.decode(declared)
        except LookupError:
            raise InvalidDataset(f"{declared!r} is not an encoding this app knows. Choose another one (utf-8, "
                                 "cp1252, utf-16…) or save the file as UTF-8.") from None
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise InvalidDataset(f"The file cannot be read as {declared}: line {line:,} has a character that is not "
                                 f"{declared}. Choose the right encoding or save the file as UTF-8.") from None
        return _text(text.lstrip("\ufeff"), raw, declared.lower(), "")
    line_break = first_line_break(head)
    scan = _scan(source, line_break)
    bom = head.startswith(_UTF8_BOM)
    decoded = Decoded(content=source, encoding="utf-8-sig" if bom else "utf-8", sha256=scan.sha256, size=scan.size,
                      line_break=line_break.decode(), bare_cr=scan.cr > scan.crlf, crlf=scan.crlf > 0,
                      rewritten=bom)
    if not scan.utf8:
        _not_utf8(_read_all(source), decoded, line_break)
    if scan.nul:
        lines = ", ".join(f"{n:,}" for n in scan.nul_lines[:LINES_NAMED])
        more = " and further lines" if len(scan.nul_lines) > LINES_NAMED else ""
        decoded.notes.append(
            f"{scan.nul:,} NUL character(s) (invisible; usually left by a faulty export) on line {lines}{more}. "
            "They are kept as they are; check those rows if a text looks cut.")
    return decoded


def _text(text: str, raw: bytes, encoding: str, note: str) -> Decoded:
    line_break = "\r" if first_line_break(text[:SNIFF_BYTES].encode("utf-8", "replace")) == b"\r" else "\n"
    cr = text.count("\r")
    crlf = text.count("\r\n") if cr else 0
    return Decoded(content=text.encode("utf-8"), encoding=encoding, sha256=hashlib.sha256(raw).hexdigest(),
                   size=len(raw),
                   line_break=line_break, bare_cr=cr > crlf, crlf=crlf > 0, rewritten=True,
                   notes=[note] if note else [])
