"""``make load``: the service with the local Groq stand-in on loopback, under locust, for a bounded time.

    python loadtest/run.py [--users 20] [--spawn-rate 5] [--time 60s] [--model-delay 2]

Starts bench/fakegroq_server.py (chat completions answering after ``--model-delay`` s) and
``compliance-sse serve`` with the groq analyzer pointed at it, both on 127.0.0.1 and free ports, runs
``locust --headless`` with loadtest/locustfile.py, and stops both. Locust prints its table and the
locustfile the lost/repeated event count; the exit status is locust's (1 if an event was lost).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import PY, free_port, spawn, stop, wait_http  # noqa: E402 - bench/ is put on the path above


async def main_async(args: argparse.Namespace) -> int:
    groq_port, port = free_port(), free_port()
    groq = spawn(
        [PY, str(ROOT / "bench" / "fakegroq_server.py"), "--port", str(groq_port), "--delay", str(args.model_delay)]
    )
    env = {
        "CSSE_PORT": str(port),
        "CSSE_ANALYZER": "groq",
        "GROQ_API_KEY": "loadtest",
        "GROQ_BASE_URL": f"http://127.0.0.1:{groq_port}",
    }
    server = spawn([PY, "-m", "compliance_sse", "serve"], env)
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz", server)
        cmd = [
            PY,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtest" / "locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(args.spawn_rate),
            "-t",
            args.time,
            "--host",
            f"http://127.0.0.1:{port}",
            "--only-summary",
            "--stop-timeout",
            "30",
        ]
        proc = await asyncio.create_subprocess_exec(*cmd)
        return await proc.wait()
    finally:
        stop(server)
        stop(groq)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--time", default="60s", help="locust's run time, e.g. 60s or 5m")
    parser.add_argument("--model-delay", type=float, default=2.0, help="seconds the Groq stand-in takes to answer")
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
