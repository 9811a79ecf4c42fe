"""Set-up shared by the benchmark scripts (imported as `benchlib`: the scripts run as files)."""

from __future__ import annotations

import base64
import http.client
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def configure_django(database_dir: Path) -> None:
    """Point Django at a throw-away SQLite file in `database_dir`, never the developer's database."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridgov.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{database_dir / 'bench.sqlite3'}"
    os.environ.setdefault("GRIDGOV_SECRET_KEY", "bench")
    os.environ["GRIDGOV_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["GRIDGOV_SECURE_COOKIES"] = "0"
    os.environ["GRIDGOV_STATIC_MANIFEST"] = "0"
    os.environ["GRIDGOV_LOG_LEVEL"] = "WARNING"
    # Throw-away keys for a throw-away database (child processes inherit them).
    if not os.environ.get("GRIDGOV_FIELD_KEYS"):
        os.environ["GRIDGOV_FIELD_KEYS"] = "b1:" + base64.b64encode(os.urandom(16)).decode()
        os.environ["GRIDGOV_FIELD_KEY_CURRENT"] = "b1"
        os.environ["GRIDGOV_BLIND_INDEX_KEY"] = base64.b64encode(os.urandom(32)).decode()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on (call after `configure_django`)."""
    from django.db import connection

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "database": connection.vendor,
    }


class Server:
    """gunicorn serving gridgov.wsgi on a free local port, against the benchmark's database."""

    def __init__(self, directory: Path, *, workers: int = 1, threads: int = 1) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = directory / "gunicorn.log"
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "gridgov.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--error-logfile",
            str(self.log),
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())  # noqa: S603

    def get(self, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Host": "localhost"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text(errors='replace')}")
            try:
                self.get("/api/v1/openapi.json")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
