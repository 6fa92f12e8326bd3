"""The Prometheus registry's text format."""

from __future__ import annotations

from compliance_sse.metrics import Metrics


def test_render_counters_gauges_histograms() -> None:
    m = Metrics()
    m.inc("csse_jobs_total", "Jobs.", outcome="done", code="")
    m.inc("csse_jobs_total", "Jobs.", outcome="failed", code="invalid_pdf")
    m.inc("csse_jobs_total", "Jobs.", outcome="done", code="")
    m.set("csse_lag", "Lag.", 0.25, stat="max")
    m.gauge_fn("csse_open_streams", "Open streams.", lambda: 3)
    m.observe("csse_stage_seconds", "Stages.", 0.3, buckets=(0.1, 0.5), stage="extract")
    m.observe("csse_stage_seconds", "Stages.", 2.0, buckets=(0.1, 0.5), stage="extract")
    text = m.render()
    assert "# TYPE csse_jobs_total counter" in text
    assert 'csse_jobs_total{code="",outcome="done"} 2' in text
    assert 'csse_jobs_total{code="invalid_pdf",outcome="failed"} 1' in text
    assert 'csse_lag{stat="max"} 0.25' in text
    assert "csse_open_streams 3" in text
    assert 'csse_stage_seconds_bucket{stage="extract",le="0.1"} 0' in text
    assert 'csse_stage_seconds_bucket{stage="extract",le="0.5"} 1' in text
    assert 'csse_stage_seconds_bucket{stage="extract",le="+Inf"} 2' in text
    assert 'csse_stage_seconds_count{stage="extract"} 2' in text
    assert 'csse_stage_seconds_sum{stage="extract"} 2.3' in text
    assert m.value("csse_jobs_total", outcome="done", code="") == 2


def test_label_values_are_escaped() -> None:
    m = Metrics()
    m.inc("x_total", "X.", model='a"b\\c\nd')
    assert 'x_total{model="a\\"b\\\\c\\nd"} 1' in m.render()
