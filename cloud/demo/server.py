"""The control plane on 127.0.0.1 for the demo: uvicorn in a thread, stopped cleanly on exit or Ctrl-C."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from frugalstack.edge.router.localcloud import free_port
from frugalstack.shared.errors import ServiceUnavailableError


class CloudServer:
    """``with CloudServer(dir) as cloud:`` -> ``cloud.base`` (http://127.0.0.1:PORT), ``cloud.admin`` (admin key).

    SQLite and the blob store live in ``data_dir``, so a second run reuses what the first registered. The
    gateway's embedded model runs on ``gateway_threads`` threads (one keeps a 2-core laptop responsive).
    """

    def __init__(self, data_dir: Path, *, port: int = 0, gateway_threads: int = 1):
        import uvicorn

        from frugalstack.cloud.app import create_app
        from frugalstack.cloud.settings import CloudSettings

        self.settings = CloudSettings(data_dir=data_dir, port=port or free_port(), gateway_threads=gateway_threads)
        self.app = create_app(self.settings)
        self.base = f"http://127.0.0.1:{self.settings.port}"
        self.admin: str = self.app.state.cloud.admin_secret
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.settings.port,
                                                     log_level="warning", ws="none", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="frugal-demo-cloud", daemon=True)

    def start(self) -> CloudServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServiceUnavailableError(f"the cloud could not start on port {self.settings.port}")
            time.sleep(0.05)
        return self

    @property
    def dialect(self) -> str:
        return str(self.app.state.cloud.db.dialect)

    def wait(self) -> None:
        """Block until Ctrl-C (``--keep-serving``)."""
        while self._thread.is_alive():
            time.sleep(0.5)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def __enter__(self) -> CloudServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def ok(r: Any, what: str) -> Any:
    """The JSON of a 2xx answer; a clear error naming the step otherwise."""
    from frugalstack.shared.errors import FrugalError

    if r.status_code >= 400:
        raise FrugalError(f"the cloud refused to {what}: HTTP {r.status_code} {r.text[:300]}")
    return r.json()
