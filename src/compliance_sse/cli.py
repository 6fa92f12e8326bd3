"""``compliance-sse analyze FILE``: analyse a PDF in-process or through a server, with live progress.

stdout carries only the report (``--format json`` pipes into ``jq``); progress
and messages go to stderr: one line redrawn with ``\\r`` on a terminal, plain
lines (one per stage change and every 10 %) otherwise. Exit status: 0 done,
1 done with ``overall_risk >= --fail-on-risk``, 2 an error, reported on stderr
as ``error: <code>: <detail>``.

Without ``--server`` the job runs in this process on the app's own wiring: ``create_app`` with
``Settings.from_env()`` (the in-memory broker), started without a port, and the upload goes
through the server's checks (``upload.checked_upload``: header, size cap). Both modes render
the same events.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TextIO

import orjson

from .client import (
    ClientError,
    ComplianceClient,
    DoneEvent,
    ErrorEvent,
    Event,
    FlagEvent,
    HeartbeatEvent,
    JobEvent,
    ProgressEvent,
)
from .events import parse
from .report_md import report_markdown

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_RISK", "ProgressRenderer", "add_analyze_command", "analyze_command"]

EXIT_OK = 0
EXIT_RISK = 1
EXIT_ERROR = 2

_BAR_WIDTH = 24
_REDRAW_S = 0.05


class _Failed(Exception):
    """Ends the command with exit 2 and ``error: <code>: <detail>``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def add_analyze_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``analyze`` to the ``add_subparsers()`` result of the main parser; returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="analyse a PDF and print its report",
        description=(
            "Analyse a PDF in-process (or with --server, through a running service) and print the report on "
            "stdout; progress goes to stderr. Exit 0 done, 1 risk at or over --fail-on-risk, 2 error."
        ),
    )
    parser.add_argument("file", type=Path, help="the PDF to analyse")
    parser.add_argument("--server", metavar="URL", help="a compliance-sse service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", metavar="K", help="API key for --server (sent as Authorization: Bearer)")
    parser.add_argument("--format", choices=("json", "md"), default="json", help="report format on stdout")
    parser.add_argument("--password", metavar="P", help="the PDF's user password")
    parser.add_argument(
        "--fail-on-risk",
        type=_risk,
        metavar="R",
        help="exit 1 when overall_risk >= R (0..1), for CI pipelines",
    )
    parser.set_defaults(func=analyze_command)
    return parser


def _risk(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


# What the user can do about an error the server reports.
_HINTS = {
    "password_required": " Give the password with --password.",
    "wrong_password": " Check the value given with --password.",
}


def analyze_command(args: argparse.Namespace) -> int:
    """Run ``analyze`` with parsed arguments; returns the exit status."""
    return asyncio.run(run_analyze(args, stdout=sys.stdout, stderr=sys.stderr))


async def run_analyze(args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO) -> int:
    """The command's body: events -> progress on ``stderr``, report on ``stdout``, exit status."""
    renderer = ProgressRenderer(stderr)
    try:
        if args.server:
            events = _remote_events(args.server, args.api_key, args.file, args.password, renderer)
        else:
            events = _local_events(args.file, args.password)
        report = await _follow(events, renderer)
    except _Failed as exc:
        renderer.close()
        print(f"error: {exc.code}: {exc.detail}{_HINTS.get(exc.code, '')}", file=stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # pragma: no cover - interactive
        renderer.close()
        print("error: interrupted: stopped by the user", file=stderr)
        return EXIT_ERROR
    if args.format == "md":
        stdout.write(report_markdown(report))
    else:
        stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    stdout.flush()
    risk = float(report.get("overall_risk", 0.0))
    if args.fail_on_risk is not None and risk >= args.fail_on_risk:
        print(f"risk {risk:.2f} is at or over --fail-on-risk {args.fail_on_risk:g}", file=stderr)
        return EXIT_RISK
    return EXIT_OK


async def _follow(events: AsyncIterator[Event], renderer: ProgressRenderer) -> dict[str, Any]:
    try:
        async for event in events:
            renderer.render(event)
            if isinstance(event, DoneEvent):
                return dict(event.report)
            if isinstance(event, ErrorEvent):
                raise _Failed(event.code, event.error)
    except ClientError as exc:
        raise _Failed(exc.code, exc.detail) from exc
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    raise _Failed("internal", "the job's events ended without a report")


async def _remote_events(
    server: str, api_key: str | None, path: Path, password: str | None, renderer: ProgressRenderer
) -> AsyncIterator[Event]:
    try:
        client = ComplianceClient(server, api_key, on_wait=renderer.waiting)
    except ValueError as exc:
        raise _Failed("bad_server_url", f"--server {exc}") from None
    async with client:
        try:
            async for event in client.analyze(path, password):
                yield event
        except FileNotFoundError:
            raise _Failed("file_not_found", f"no such file: {path}") from None
        except OSError as exc:  # the client maps network failures to ClientError: this is the file
            raise _Failed("unreadable_file", f"{path}: {exc.strerror or exc}") from exc


async def _local_events(path: Path, password: str | None) -> AsyncIterator[Event]:
    """Run the job in this process on the app's own wiring (``create_app``, no port) and yield its events."""
    from aiohttp import web

    from .app import create_app, get_event_log, get_jobs
    from .errors import ComplianceError
    from .settings import Settings
    from .upload import checked_upload

    try:
        # The job runs here, so its log is in memory whatever broker the environment names.
        settings = dataclasses.replace(Settings.from_env(), broker="memory")
    except ValueError as exc:
        raise _Failed("bad_settings", str(exc)) from exc
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise _Failed("file_not_found", f"no such file: {path}") from None
    except OSError as exc:
        raise _Failed("unreadable_file", f"{path}: {exc.strerror or exc}") from exc
    try:
        upload = checked_upload(data, path.name, password, max_bytes=settings.max_upload_bytes)
    except ComplianceError as exc:
        raise _Failed(exc.code, exc.detail) from exc

    runner = web.AppRunner(create_app(settings), handle_signals=False, access_log=None)
    try:
        try:
            await runner.setup()
        except (ValueError, RuntimeError, ImportError) as exc:
            raise _Failed("analyzer_unavailable", str(exc)) from exc
        jobs = get_jobs(runner.app)
        record = await jobs.submit(upload, "default")
        try:
            async for entry in get_event_log(runner.app).read(record.job_id):
                yield parse(entry.event, entry.data, entry.id)
        finally:
            await jobs.close(0.0)  # on an early exit, the job is cancelled at once
    finally:
        await runner.cleanup()


class ProgressRenderer:
    """Shows a job's events on ``stream``: one redrawn line on a terminal, plain lines otherwise.

    The line holds the stage, a percent bar, the ETA and the findings so far.
    Plain lines come at each stage change and every 10 %. ``tty`` overrides
    ``stream.isatty()``; ``clock`` (s) throttles redraws. :meth:`close` ends a
    redrawn line; it may be called twice.
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._clock = clock
        self._stage = ""
        self._percent = 0.0
        self._eta_s: float | None = None
        self._page: tuple[int, int] | None = None
        self._findings = 0
        self._decile = -1
        self._drawn = False
        self._last_draw = -math.inf
        self._working_s: float | None = None

    def waiting(self, reason: str, delay_s: float) -> None:
        """Say that the client waits before trying again, why, and for how long."""
        self._line(f"waiting {_duration(delay_s)} before trying again: {reason}")

    def render(self, event: Event) -> None:
        if isinstance(event, JobEvent):
            self._line(f"job {event.job_id}")
        elif isinstance(event, ProgressEvent):
            stage_changed = event.stage != self._stage
            self._stage, self._percent, self._eta_s = event.stage, event.percent, event.eta_s
            self._page = (event.page, event.pages) if event.page is not None and event.pages else None
            decile = int(event.percent // 10)
            if self._tty:
                self._draw(force=stage_changed)
            elif stage_changed or decile > self._decile:
                self._line(self._status(bar=False))
            self._decile = max(self._decile, decile)
        elif isinstance(event, FlagEvent):
            self._findings += 1
            if self._tty:
                self._draw(force=False)
        elif isinstance(event, HeartbeatEvent):
            # A long page sends no progress: the heartbeat shows that work goes on.
            self._working_s = event.elapsed_s
            if self._tty:
                self._draw(force=True)
            else:
                self._line(f"{event.stage}: still working, {_duration(event.elapsed_s)} since the upload")
        elif isinstance(event, DoneEvent):
            self._percent, self._eta_s = 100.0, 0.0
            if self._tty:
                self._draw(force=True)
            report = event.report
            self._line(
                f"done: risk {event.risk_level} ({event.overall_risk:.2f}), "
                f"{len(report.get('flags', []))} findings, {report.get('page_count', 0)} pages"
            )
        elif isinstance(event, ErrorEvent):
            self.close()

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False

    def _status(self, *, bar: bool) -> str:
        parts = [f"{self._stage:<8}"]
        if bar:
            filled = round(_BAR_WIDTH * self._percent / 100)
            parts.append("[" + "#" * filled + "-" * (_BAR_WIDTH - filled) + "]")
        parts.append(f"{self._percent:5.1f}%")
        parts.append(f"ETA {_duration(self._eta_s)}")
        parts.append(f"findings {self._findings}")
        if self._page is not None:
            parts.append(f"page {self._page[0]}/{self._page[1]}")
        if self._working_s is not None:
            parts.append(f"working {_duration(self._working_s)}")
        return "  ".join(parts)

    def _draw(self, *, force: bool) -> None:
        now = self._clock()
        if not force and now - self._last_draw < _REDRAW_S:
            return
        self._last_draw = now
        width = shutil.get_terminal_size((80, 24)).columns
        # \r back to the start, the line cut to the terminal, then erase whatever an earlier line left.
        self._stream.write("\r" + self._status(bar=True)[: max(width - 1, 10)] + "\x1b[K")
        self._stream.flush()
        self._drawn = True

    def _line(self, text: str) -> None:
        self.close()
        self._stream.write(text + "\n")
        self._stream.flush()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"
