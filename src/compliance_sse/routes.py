"""The URL table, nothing else."""

from __future__ import annotations

from aiohttp import web

from . import page, views

__all__ = ["setup_health_routes", "setup_routes"]


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/analyze_sse", views.analyze_sse)
    app.router.add_post("/analyze", views.analyze)
    app.router.add_post("/jobs", views.create_job)
    app.router.add_get("/jobs", views.list_jobs)
    app.router.add_get("/jobs/{job_id}", views.job_status)
    app.router.add_get("/jobs/{job_id}/events", views.job_events)
    app.router.add_get("/jobs/{job_id}/report", views.job_report)
    app.router.add_get("/jobs/{job_id}/report.md", views.job_report_md)
    app.router.add_get("/healthz", views.healthz)
    app.router.add_get("/readyz", views.readyz)
    app.router.add_get("/metrics", views.metrics)
    app.router.add_get("/openapi.json", views.openapi_json)
    app.router.add_get("/", page.index)
    app.router.add_get("/static/{version}/{name}", page.asset)


def setup_health_routes(app: web.Application) -> None:
    """The worker's own port: probes and metrics only."""
    app.router.add_get("/healthz", views.healthz)
    app.router.add_get("/readyz", views.readyz)
    app.router.add_get("/metrics", views.metrics)
