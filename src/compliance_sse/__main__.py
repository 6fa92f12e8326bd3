"""Command line: ``compliance-sse serve | worker | analyze``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .logs import setup_logging
    from .server import serve
    from .settings import ConfigError, Settings

    try:
        settings = Settings.from_env()
        setup_logging(args.log_format or settings.log_format)
        host = args.host or settings.host
        port = args.port if args.port is not None else settings.port
        import asyncio

        asyncio.run(serve(create_app(settings), host=host, port=port, shutdown_timeout=15, drain_s=settings.drain_s))
    except ConfigError as exc:
        return _refuse("serve", exc)
    return 0


def _refuse(command: str, exc: Exception) -> int:
    """A setting the command cannot run with: one line on stderr, exit 2 (never a traceback)."""
    print(f"compliance-sse {command}: {exc}", file=sys.stderr)
    return 2


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from .logs import setup_logging
    from .settings import ConfigError, Settings
    from .worker import run_worker

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        return _refuse("worker", exc)
    setup_logging(args.log_format or settings.log_format)
    if settings.broker == "memory":
        print("compliance-sse worker: set CSSE_BROKER=redis://... (the queue the servers fill)", file=sys.stderr)
        return 2
    asyncio.run(run_worker(settings))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="compliance-sse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default=None, help="listen address (default CSSE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="listen port (default CSSE_PORT or 8000)")
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="take jobs from the Redis queue (CSSE_BROKER=redis://...)")
    worker.set_defaults(func=_worker)
    for command in (serve, worker):
        command.add_argument(
            "--log-format", choices=("text", "json"), default=None, help="log lines (default CSSE_LOG_FORMAT or text)"
        )
    from .cli import add_analyze_command

    add_analyze_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
