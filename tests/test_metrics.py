"""The Prometheus registry: every family from start-up, scrape-time values, one registry per app."""

from __future__ import annotations

from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app
from compliance_sse.metrics import Metrics
from compliance_sse.settings import Settings

FAMILIES = {
    "csse_jobs_total": "counter",
    "csse_stage_seconds": "histogram",
    "csse_tenant_jobs_total": "counter",
    "csse_upload_bytes_total": "counter",
    "csse_extract_pages_per_second": "histogram",
    "csse_events_sent_total": "counter",
    "csse_heartbeats_sent_total": "counter",
    "csse_groq_requests_total": "counter",
    "csse_groq_tokens_total": "counter",
    "csse_groq_request_seconds": "histogram",
    "csse_event_loop_lag_seconds": "gauge",
    "csse_open_streams": "gauge",
    "csse_asyncio_tasks": "gauge",
    "csse_active_jobs": "gauge",
    "csse_extract_stray_threads": "gauge",
}


async def test_a_fresh_server_shows_every_family_with_help_and_type(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings()))
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    for name, kind in FAMILIES.items():
        assert f"# HELP {name} " in text, name
        assert f"# TYPE {name} {kind}" in text, name
    assert "_created" not in text
    assert "csse_heartbeats_sent_total 0.0" in text and "csse_upload_bytes_total 0.0" in text


def test_counts_histograms_and_scrape_time_values() -> None:
    m = Metrics()
    m.jobs.labels(outcome="done", code="").inc()
    m.jobs.labels(outcome="done", code="").inc()
    m.stage_seconds.labels(stage="extract").observe(0.3)
    m.read("gauge", "csse_test_gauge", "A value read at scrape time.", lambda: 3)
    text = m.render().decode()
    assert 'csse_jobs_total{code="",outcome="done"} 2.0' in text
    assert 'csse_stage_seconds_bucket{le="0.5",stage="extract"} 1.0' in text
    assert "csse_test_gauge 3.0" in text
    assert m.value("csse_jobs_total", outcome="done", code="") == 2
    assert m.value("csse_jobs_total", outcome="failed", code="x") == 0
    assert Metrics().value("csse_jobs_total", outcome="done", code="") == 0, "each app has a registry of its own"
