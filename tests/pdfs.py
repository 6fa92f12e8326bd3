"""PDFs the tests build themselves: what the corpus files we may not redistribute exercised, and small helpers.

``GENERATED`` maps a name to a builder and a manifest-style entry (the same keys as tests/corpus/manifest.json),
so the corpus tests run the same expectations over vendored and built files alike. Builders are deterministic
and cached: the 10,000-page file takes a second to write. Get any of them through the ``pdf`` fixture.
"""

from __future__ import annotations

import functools
import io
import zlib
from collections.abc import Callable
from typing import Any

from pypdf import PdfReader, PdfWriter

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
ONE_KID = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"


def make_pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (numbered from 1; 1 is the catalog) with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def stream(content: bytes, filters: bytes = b"") -> bytes:
    """A stream object; ``filters`` is the /Filter value, the caller encodes ``content`` for it."""
    extra = b" /Filter %s" % filters if filters else b""
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), extra, content)


def page(contents: bytes = b"4 0 R", font: bytes = b"5 0 R") -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 %s >> >> /Contents %s >>" % (font, contents)
    )


def one_page_pdf(content: bytes, font: bytes = HELVETICA) -> bytes:
    """One page showing ``content`` (a content stream, deflated here) with ``font`` as /F1."""
    return make_pdf([CATALOG, ONE_KID, page(), stream(zlib.compress(content), b"/FlateDecode"), font])


def text_pdf(*lines: str) -> bytes:
    """One page with each line as a Helvetica text line (ASCII only)."""
    shows = b" ".join(b"(%s) Tj 0 -14 Td" % line.encode("ascii") for line in lines)
    return one_page_pdf(b"BT /F1 12 Tf 72 720 Td " + shows + b" ET")


def _xref_keyword_missing() -> bytes:
    """The xref section lost its keyword: pypdf rebuilds the table by scanning the objects."""
    return text_pdf("Recovered text").replace(b"xref\n0 ", b"\n0 ", 1)


def _jbig2_bomb() -> bytes:
    """A content stream behind a JBIG2 filter: pypdf needs the jbig2dec binary and fails the page."""
    text = stream(b"BT /F1 24 Tf 50 700 Td (GIANT JBIG2 BOMB) Tj ET")
    bomb = stream(b"\x97JB2\r\n\x1a\n\x01\x00\x00\x00\x01", b"/JBIG2Decode")
    return make_pdf([CATALOG, ONE_KID, page(b"[4 0 R 6 0 R]"), text, HELVETICA, bomb])


def _a85_deprecated_filter() -> bytes:
    """The abbreviated /A85 filter name: pypdf raises DeprecationError on the page."""
    return make_pdf([CATALOG, ONE_KID, page(), stream(b'87cURD]i,"~>', b"/A85"), HELVETICA])


def _kids_not_array() -> bytes:
    return make_pdf([CATALOG, b"<< /Type /Pages /Kids << /A 3 0 R >> /Count 1 >>", page()])


def _slow_page() -> bytes:
    """3 KB that open at once, but whose one page keeps pypdf busy for seconds (300,000 text operators)."""
    return one_page_pdf(b"BT /F1 12 Tf 9 9 Td " + b"(a) Tj " * 300_000 + b"ET")


def _no_tounicode() -> bytes:
    """A Type0 Identity-H font without ToUnicode: pypdf returns glyph ids as characters (mojibake)."""
    font = b"<< /Type /Font /Subtype /Type0 /BaseFont /NoEmbed /Encoding /Identity-H /DescendantFonts [6 0 R] >>"
    cid = (
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NoEmbed"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>"
    )
    content = stream(b"BT /F1 12 Tf 72 720 Td <0102030405060708090a0b0c0d0e0f10111213141516> Tj ET")
    return make_pdf([CATALOG, ONE_KID, page(), content, font, cid])


def _xfa_form() -> bytes:
    """An XFA form: only the fallback page text is extractable."""
    xfa = stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template/></xdp:xdp>')
    fallback = b"BT /F1 12 Tf 72 720 Td (Please wait... this form needs a viewer that supports XFA forms.) Tj ET"
    catalog = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 6 0 R >> >>"
    return make_pdf([catalog, ONE_KID, page(), stream(fallback), HELVETICA, xfa])


def _javascript_buttons() -> bytes:
    """JavaScript run on open and a push button whose action is JavaScript."""
    button = (
        b"<< /Type /Annot /Subtype /Widget /FT /Btn /Ff 65536 /T (validate) /Rect [72 600 200 630]"
        b" /A << /S /JavaScript /JS (app.alert\\('pressed'\\);) >> >>"
    )
    return make_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >>"
            b" /OpenAction << /S /JavaScript /JS (app.alert\\('opened'\\);) >> >>",
            ONE_KID,
            page().replace(b" /Contents", b" /Annots [6 0 R] /Contents"),
            stream(b"BT /F1 12 Tf 72 720 Td (Press the button to validate the form.) Tj ET"),
            HELVETICA,
            button,
        ]
    )


def _huge_10000_pages() -> bytes:
    """10,000 copies of one six-character page, sharing their content stream."""
    source = PdfReader(io.BytesIO(text_pdf("Page.")))
    writer = PdfWriter()
    for _ in range(10_000):
        writer.add_page(source.pages[0])
    return _write(writer)


def _truncated_55pct() -> bytes:
    """A four-page file cut to its first 55%: no xref, no trailer."""
    writer = PdfWriter()
    for number in range(1, 5):
        writer.add_page(PdfReader(io.BytesIO(text_pdf(f"Page {number} of a report cut short."))).pages[0])
    data = _write(writer)
    return data[: len(data) * 55 // 100]


def _write(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _entry(file: str, exercises: str, expected: str, pages: int | None, chars: int | None) -> dict[str, Any]:
    return {
        "file": file,
        "origin": "built by tests/pdfs.py",
        "exercises": exercises,
        "expected": expected,
        "password": None,
        "pypdf_7_1_0": {"pages": pages, "text_chars": chars},
    }


GENERATED: dict[str, tuple[Callable[[], bytes], dict[str, Any]]] = {
    "xref-keyword-missing": (
        _xref_keyword_missing,
        _entry("xref-keyword-missing", "missing 'xref' keyword, recoverable", "text", 1, 14),
    ),
    "jbig2-bomb": (
        _jbig2_bomb,
        _entry("jbig2-bomb", "JBIG2 content stream; pypdf raises DependencyError", "no text (must not crash)", 1, 0),
    ),
    "a85-deprecated-filter": (
        _a85_deprecated_filter,
        _entry("a85-deprecated-filter", "abbreviated /A85 filter name", "no text (must not crash)", 1, 0),
    ),
    "kids-not-array": (_kids_not_array, _entry("kids-not-array", "/Kids is a dict", "fail cleanly", None, None)),
    "slow-1-page": (
        _slow_page,
        _entry("slow-1-page", "1 page, seconds in pypdf", "text (SLOW: tests time limits)", 1, 300_000),
    ),
    "xfa-form": (_xfa_form, _entry("xfa-form", "XFA form, fallback text only", "text (placeholder only)", 1, 64)),
    "javascript-buttons": (
        _javascript_buttons,
        _entry("javascript-buttons", "document JavaScript and a JavaScript button", "text", 1, 38),
    ),
    "no-tounicode": (
        _no_tounicode,
        _entry("no-tounicode", "Identity-H font without ToUnicode (garbled glyphs)", "text (garbled)", 1, 11),
    ),
    "huge-10000-pages": (
        _huge_10000_pages,
        _entry("huge-10000-pages", "10,000 pages", "text (SLOW: page cap/time limit)", 10_000, 50_000),
    ),
    "truncated-55pct": (
        _truncated_55pct,
        _entry("truncated-55pct", "cut to its first 55% (no xref/trailer)", "fail cleanly", None, None),
    ),
}


@functools.cache
def build(name: str) -> bytes:
    """The bytes of a generated PDF by name (a key of ``GENERATED``)."""
    builder, _ = GENERATED[name]
    return builder()
