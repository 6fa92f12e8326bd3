"""The seed's design, as its guide builds it: one FastAPI handler that does everything on the event loop.

It reads the upload, extracts the text with pdfplumber synchronously, calls Groq with the synchronous
client (one request per document, as the guide does) and streams ``progress`` and ``done`` events.
Every blocking call stalls the loop, so requests are served one after another: this is the baseline
``bench/compare.py`` measures the service against.

    GROQ_API_KEY=x GROQ_BASE_URL=http://127.0.0.1:8100 python bench/seed_app.py --port 8200
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import AsyncIterator

import groq
import pdfplumber
import uvicorn
from fastapi import FastAPI, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
client = groq.Groq(max_retries=0)

PROMPT = (
    "You are a compliance analyst. Find AML, sanctions, data-protection and other compliance risks in the "
    'document. Answer JSON: {"summary": str, "overall_risk": float, "findings": [...]}.'
)


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@app.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@app.post("/analyze_sse")
async def analyze_sse(file: UploadFile) -> StreamingResponse:
    data = await file.read()

    async def events() -> AsyncIterator[str]:
        yield _event("progress", {"stage": "extract", "percent": 5})
        with pdfplumber.open(io.BytesIO(data)) as pdf:  # synchronous, on the loop
            pages = [page.extract_text() or "" for page in pdf.pages]
        yield _event("progress", {"stage": "analyze", "percent": 50})
        text = "\n".join(f'<page n="{n}">\n{t}\n</page>' for n, t in enumerate(pages, 1))
        completion = client.chat.completions.create(  # synchronous, on the loop
            model="llama-3.3-70b-versatile",
            messages=[{"role": "system", "content": PROMPT}, {"role": "user", "content": text}],
            response_format={"type": "json_object"},
        )
        report = json.loads(completion.choices[0].message.content or "{}")
        yield _event("done", {"page_count": len(pages), **report})

    return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", backlog=4096)


if __name__ == "__main__":
    main()
