"""The page's event-stream parser (static/sse.js) agrees with the service's (sse/parser.py).

Both follow the WHATWG event-stream interpretation with the same choices; the browser runs
the JavaScript module itself, fed the same bytes cut at the same places as the Python parser.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from compliance_sse.sse.parser import EventParser
from tests.web.conftest import Tab, open_page, serve

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

CASES = [
    b"data: a\r\n\r\n",
    b"data: a\r\rdata: b\n\n",
    b"\xef\xbb\xbfdata: bom\n\n\xef\xbb\xbfdata: second bom is data\n\n",
    "data: é😀 split\n\n".encode(),
    b'id: 7\nevent: progress\ndata: {"a":1}\n\n',
    b": comment\nretry: 1500\nretry: x\nretry:\ndata\n\n",
    b"id: a\0b\ndata: nul id ignored\n\n",
    b"id: 1\ndata: 1\ndata: 2\n\nid\ndata: 3\n\n",
    b"event: lost\n\ndata: after\n\n",
    b"data: never ends",
    b"data:\xff\xfe bad bytes\n\n",
    "data: \u2028 is not a line break\r\n\r\n".encode(),
    b"data: a\r",
    b"data:  two spaces\nfield: unknown\ndata:no space\n\n",
    # The WHATWG examples.
    b"data: YHOO\ndata: +2\ndata: 10\n\n",
    b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
    b"data\n\ndata\ndata\n\ndata:",
    b"data:test\n\ndata: test\n\n",
]


def _random_stream(rng: random.Random) -> bytes:
    tokens = [b"data: x", b"data:", b"id: ", b"id: 9", b"event: e", b"retry: 42", b": c", b"\r", b"\n", b"\r\n"]
    tokens += ["é".encode(), "😀".encode(), b"\xff", b"\0", b"\xef\xbb\xbf"]
    return b"".join(rng.choice(tokens) for _ in range(rng.randint(1, 30)))


def _cuts(data: bytes, rng: random.Random) -> list[list[list[int]]]:
    whole = [list(data)]
    bytewise = [[b] for b in data]
    points = sorted(rng.sample(range(1, len(data)), min(3, max(len(data) - 1, 0)))) if len(data) > 1 else []
    pieces: list[list[int]] = []
    last = 0
    for point in [*points, len(data)]:
        pieces.append(list(data[last:point]))
        last = point
    return [whole, bytewise, pieces]


def _python(chunks: list[list[int]]) -> dict[str, Any]:
    parser = EventParser()
    events = []
    for chunk in chunks:
        events += [[e.event, e.data, e.id] for e in parser.feed(bytes(chunk))]
    parser.flush()
    return {"events": events, "lastEventId": parser.last_event_id, "retry": parser.retry}


_JS = """async ([url, chunks]) => {
  const { EventParser } = await import(url);
  const parser = new EventParser();
  const events = [];
  for (const chunk of chunks) {
    for (const e of parser.feed(new Uint8Array(chunk))) events.push([e.type, e.data, e.id]);
  }
  parser.flush();
  return { events, lastEventId: parser.lastEventId, retry: parser.retry };
}"""


async def test_the_js_parser_matches_the_python_parser(new_tab: Any) -> None:
    rng = random.Random(16)
    streams = CASES + [_random_stream(rng) for _ in range(60)]
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        html = await page.content()
        (static,) = set(re.findall(r'src="(/static/[^"/]+)/app\.js"', html))
        for data in streams:
            for chunks in _cuts(data, rng):
                got = await page.evaluate(_JS, [static + "/sse.js", chunks])
                assert got == _python(chunks), (data, chunks)
        assert tab.errors == []
