"""Service settings: one frozen dataclass, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal

__all__ = ["DEFAULT_GROQ_MODEL", "DEFAULT_MAX_ACTIVE_JOBS", "ConfigError", "Settings", "env_name"]

DEFAULT_GROQ_MODEL = "llama-3.3-70b-versatile"


DEFAULT_MAX_ACTIVE_JOBS = 64
"""Jobs running at once per process. A job mostly waits (on the model, on the executor's queue), so this is
sized for I/O; the extraction workers, the analysis threads and ``groq_concurrency`` bound the real work."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of the service, with a default that works on a laptop.

    Times are in seconds unless the name says ``_ms``. Only :meth:`from_env`
    reads ``os.environ``; tests build ``Settings(...)`` directly.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: float = 10
    upload_timeout_s: float = 30
    max_uploads: int = 16
    max_pages: int = 500
    extract_timeout_s: float = 60
    extract_workers: int = 2
    extract_isolation: Literal["thread", "process"] = "thread"
    max_analyze_chars: int = 200_000
    heartbeat_s: float = 15
    retry_ms: int = 3000
    send_timeout_s: float = 10
    stream_max_s: float = 3600
    job_ttl_s: float = 3600
    max_retained_jobs: int = 10_000
    max_active_jobs: int = DEFAULT_MAX_ACTIVE_JOBS
    analyzer: Literal["auto", "rules", "groq"] = "auto"
    groq_api_key: str | None = field(default=None, repr=False)
    groq_base_url: str | None = None
    groq_model: str = DEFAULT_GROQ_MODEL
    groq_concurrency: int = 32
    """Requests in flight to Groq per process. A job waiting on the model costs no CPU, and Groq enforces its
    rate limits with 429 + Retry-After, which pauses every request of the analyzer (README, "Cost controls")."""
    groq_timeout_s: float = 60
    broker: str = "memory"
    claim_idle_s: float = 30
    redis_prefix: str = "csse"
    server_worker: bool = True
    max_attempts: int = 3
    max_queued_jobs: int = 1000
    cache_ttl_s: float = 86400
    broker_grace_s: float = 5
    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    cors_origins: tuple[str, ...] = ()
    log_format: Literal["text", "json"] = "text"
    url_secret: str | None = field(default=None, repr=False)
    tenant_max_jobs: int = 0
    tenant_max_streams: int = 0
    drain_s: float = 5
    worker_port: int = 8001

    def __post_init__(self) -> None:
        if self.extract_isolation not in ("thread", "process"):
            raise ValueError("CSSE_EXTRACT_ISOLATION must be 'thread' or 'process'")
        if self.analyzer not in ("auto", "rules", "groq"):
            raise ValueError("CSSE_ANALYZER must be 'auto', 'rules' or 'groq'")
        if self.log_format not in ("text", "json"):
            raise ValueError("CSSE_LOG_FORMAT must be 'text' or 'json'")
        if not (self.broker == "memory" or self.broker.startswith(("redis://", "rediss://", "unix://"))):
            raise ValueError("CSSE_BROKER must be 'memory' or a redis:// URL")
        for name in (
            "max_upload_mb",
            "upload_timeout_s",
            "extract_timeout_s",
            "heartbeat_s",
            "send_timeout_s",
            "stream_max_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{env_name(name)} must be positive")
        for name in (
            "max_uploads",
            "max_retained_jobs",
            "max_pages",
            "extract_workers",
            "max_active_jobs",
            "groq_concurrency",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{env_name(name)} must be at least 1")
        if self.retry_ms < 0:
            raise ValueError("CSSE_RETRY_MS must not be negative")
        if self.claim_idle_s <= 0:
            raise ValueError("CSSE_CLAIM_IDLE_S must be positive")
        for name in ("max_attempts", "max_queued_jobs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{env_name(name)} must be at least 1")
        for name in ("cache_ttl_s", "broker_grace_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{env_name(name)} must not be negative")
        for name in ("tenant_max_jobs", "tenant_max_streams", "drain_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{env_name(name)} must not be negative (0: no limit)")
        if not 0 <= self.worker_port <= 65535:
            raise ValueError("CSSE_WORKER_PORT must be a port number")
        if self.url_secret is not None and not self.api_keys:
            # Refused rather than ignored: without keys nothing is signed or checked.
            raise ValueError("CSSE_URL_SECRET has no effect without CSSE_API_KEYS; set both or neither")
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CSSE_CORS_ORIGINS: {origin!r} is not '*' or an http(s):// origin")
        if not self.redis_prefix or any(c.isspace() or c in "{}*" for c in self.redis_prefix):
            raise ValueError("CSSE_REDIS_PREFIX must be a non-empty key prefix without spaces, braces or '*'")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def analyzer_name(self) -> Literal["rules", "groq"]:
        """The analyzer in effect: ``auto`` means groq when a key is set."""
        if self.analyzer == "auto":
            return "groq" if self.groq_api_key else "rules"
        return self.analyzer

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``CSSE_*`` and ``GROQ_*`` variables; raises :class:`ConfigError` on a bad value."""
        env = os.environ if environ is None else environ
        kw: dict[str, object] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, typ in types.items():
            var = env_name(name)
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            raw = raw.strip()
            try:
                kw[name] = _convert(name, str(typ), raw)
            except ValueError as exc:
                raise ConfigError(f"{var}={raw!r}: {exc}") from None
        try:
            return cls(**kw)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


class ConfigError(ValueError):
    """A setting the service cannot run with; the message is one line that names the variable."""


def env_name(name: str) -> str:
    """The environment variable of a ``Settings`` field."""
    return _ENV_NAMES.get(name, "CSSE_" + name.upper())


_ENV_NAMES = {
    "groq_api_key": "GROQ_API_KEY",
    "groq_base_url": "GROQ_BASE_URL",
}


def _convert(name: str, typ: str, raw: str) -> object:
    if name == "api_keys":
        keys: dict[str, str] = {}
        for item in raw.split(","):
            key, sep, tenant = item.strip().partition(":")
            if not key:
                continue
            keys[key] = tenant.strip() if sep and tenant.strip() else "default"
        return keys
    if name == "cors_origins":
        return tuple(o.strip() for o in raw.split(",") if o.strip())
    if typ.startswith("bool"):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected 1/0, true/false, yes/no or on/off")
    if typ.startswith("int"):
        return int(raw)
    if typ.startswith("float"):
        return float(raw)
    return raw
