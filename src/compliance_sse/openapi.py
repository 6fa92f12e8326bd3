"""``GET /openapi.json``: the API as OpenAPI 3.1, built from the settings (upload cap, auth)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .events import ErrorEvent, HeartbeatEvent, JobEvent, ProgressEvent
from .settings import Settings

__all__ = ["openapi"]

_ERROR = {
    "type": "object",
    "required": ["detail", "code", "request_id"],
    "properties": {
        "detail": {"type": "string", "description": "A sentence for a person."},
        "code": {"type": "string", "description": "A machine code (README's error table)."},
        "request_id": {"type": "string"},
    },
}
_JSON_TYPES = {"str": "string", "float": "number", "int": "integer", "bool": "boolean"}


def _schema_of(event: type[Any]) -> dict[str, Any]:
    """The JSON schema of an event's data, from its dataclass in ``events.py`` (the one owner of event bodies)."""
    properties: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(event):
        if f.name == "id":
            continue  # the SSE id, not part of the data
        annotation = str(f.type).replace(" ", "")
        json_type = _JSON_TYPES.get(annotation.removesuffix("|None"), "object")
        properties[f.name] = {"type": [json_type, "null"] if annotation.endswith("|None") else json_type}
        if f.default is dataclasses.MISSING:
            required.append(f.name)
    return {"type": "object", "required": required, "properties": properties}


_JOB_URLS = _schema_of(JobEvent)
_JOB_URLS["properties"]["status"] = {"type": "string"}
_STATUS = {
    "type": "object",
    "required": ["job_id", "status"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"enum": ["queued", "running", "done", "failed"]},
        "stage": {"type": ["string", "null"]},
        "percent": {"type": "number"},
        "created": {"type": "number"},
        "updated": {"type": "number"},
        "doc_name": {"type": "string"},
    },
}
_REPORT = {
    "type": "object",
    "required": ["job_id", "overall_risk", "risk_level", "flags"],
    "properties": {
        "job_id": {"type": "string"},
        "doc_name": {"type": "string"},
        "overall_risk": {"type": "number", "minimum": 0, "maximum": 1},
        "risk_level": {"enum": ["CRITICAL", "HIGH", "MEDIUM", "LOW", "MINIMAL"]},
        "flags": {"type": "array", "items": {"$ref": "#/components/schemas/Flag"}},
    },
}
_FLAG = {
    "type": "object",
    "required": ["id", "category", "title", "severity", "evidence"],
    "properties": {
        "id": {"type": "string"},
        "category": {"type": "string"},
        "title": {"type": "string"},
        "severity": {"type": "integer", "minimum": 1, "maximum": 5},
        "evidence": {
            "type": "array",
            "items": {"type": "object", "properties": {"page": {"type": "integer"}, "quote": {"type": "string"}}},
        },
    },
}
_EVENTS = {
    "job": {"$ref": "#/components/schemas/JobUrls"},
    "progress": _schema_of(ProgressEvent),
    "flag": {"$ref": "#/components/schemas/Flag"},
    "heartbeat": _schema_of(HeartbeatEvent),
    "done": {"$ref": "#/components/schemas/Report"},
    "error": _schema_of(ErrorEvent),
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


_STREAM = {
    "description": "The job's events (Server-Sent Events); each event's data is one line of JSON.",
    "content": {
        "text/event-stream": {
            # One server-sent event; its ``data`` is the JSON in ``x-events`` for its ``event`` name.
            "schema": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "event": {"enum": list(_EVENTS)},
                    "data": {"type": "string"},
                    "id": {"type": "string"},
                    "retry": {"type": "integer"},
                },
            },
            "x-events": {name: {"data": schema} for name, schema in _EVENTS.items()},
        }
    },
}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TOKEN = {"name": "token", "in": "query", "required": False, "schema": {"type": "string"}}


def openapi(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this service as configured."""
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "maxLength": settings.max_upload_bytes},
                        "password": {"type": "string"},
                    },
                }
            }
        },
    }
    refusals = {
        "400": _error("Not a multipart upload, or no file part."),
        "401": _error("No key, or a wrong one."),
        "408": _error("The upload stalled."),
        "413": _error("The upload is over the cap."),
        "415": _error("Not a PDF, or a compressed body."),
        "429": _error("The tenant's limit is reached; see Retry-After."),
        "503": _error("Busy or draining; see Retry-After."),
    }
    job_errors = {"401": _error("No key or token, or a wrong one."), "404": _error("No such job for this tenant.")}
    job_errors["410"] = _error("The job has expired.")
    secured: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}] if settings.api_keys else []
    paths: dict[str, Any] = {
        "/analyze_sse": {
            "post": {
                "summary": "Upload a PDF and stream its analysis",
                "requestBody": upload,
                "responses": {"200": _STREAM, **refusals},
            }
        },
        "/analyze": {
            "post": {
                "summary": "Upload a PDF and wait for the report",
                "requestBody": upload,
                "responses": {
                    "200": _json("The report.", "#/components/schemas/Report"),
                    **refusals,
                    "422": _error("The document cannot be analysed."),
                    "500": _error("A bug on our side."),
                    "502": _error("The language model failed."),
                },
            }
        },
        "/jobs": {
            "post": {
                "summary": "Upload a PDF; the job runs without a listener",
                "requestBody": upload,
                "responses": {"202": _json("Accepted.", "#/components/schemas/JobUrls"), **refusals},
            },
            "get": {
                "summary": "The caller's jobs, newest first",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "A page of jobs.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["jobs", "next_cursor"],
                                    "properties": {
                                        "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/JobStatus"}},
                                        "next_cursor": {"type": ["string", "null"]},
                                    },
                                }
                            }
                        },
                    },
                    "400": _error("A bad limit or cursor."),
                    "401": _error("No key, or a wrong one."),
                },
            },
        },
        "/jobs/{job_id}": {
            "get": {
                "parameters": [_JOB_ID, _TOKEN],
                "responses": {"200": _json("The job's status.", "#/components/schemas/JobStatus"), **job_errors},
            }
        },
        "/jobs/{job_id}/events": {
            "get": {
                "summary": "The job's events, after Last-Event-ID if given",
                "parameters": [
                    _JOB_ID,
                    _TOKEN,
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                    {"name": "last_event_id", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _STREAM,
                    "204": {"description": "Resumed after the final event: nothing more will come."},
                    "400": _error("A Last-Event-ID this job never issued."),
                    "429": _error("The tenant's limit of open streams is reached."),
                    "503": _error("The broker is unavailable."),
                    **job_errors,
                },
            }
        },
        "/jobs/{job_id}/report": {
            "get": {
                "parameters": [_JOB_ID, _TOKEN],
                "responses": {"200": _json("The report.", "#/components/schemas/Report"), **job_errors},
            }
        },
        "/jobs/{job_id}/report.md": {
            "get": {
                "parameters": [_JOB_ID, _TOKEN],
                "responses": {
                    "200": {
                        "description": "The report in Markdown.",
                        "content": {"text/markdown": {"schema": {"type": "string"}}},
                    },
                    **job_errors,
                },
            }
        },
    }
    public = {
        "/healthz": "Liveness.",
        "/readyz": "Readiness (503 while draining or without the broker).",
        "/metrics": "Prometheus text format.",
    }
    for path, description in public.items():
        content_type = "text/plain" if path == "/metrics" else "application/json"
        responses: dict[str, Any] = {"200": {"description": description, "content": {content_type: {"schema": {}}}}}
        if path == "/readyz":
            responses["503"] = {"description": "Not ready.", "content": {"application/json": {"schema": {}}}}
        paths[path] = {"get": {"security": [], "responses": responses}}
    paths["/openapi.json"] = {
        "get": {
            "responses": {"200": {"description": "This document.", "content": {"application/json": {"schema": {}}}}}
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "compliance-sse", "version": "1"},
        "security": secured,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "token": {"type": "apiKey", "in": "query", "name": "token"},
            },
            "schemas": {"Error": _ERROR, "JobUrls": _JOB_URLS, "JobStatus": _STATUS, "Report": _REPORT, "Flag": _FLAG},
        },
    }
