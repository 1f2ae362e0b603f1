"""Small helpers shared by the reliability tests (a module with a unique name, unlike conftest)."""
from __future__ import annotations

import base64
import io
import os

import numpy as np
from PIL import Image

from backend.auth import create_client
from backend.state import EXTENSION_KEY

POSTGRES_URL = os.environ.get("ALTLENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ALTLENS_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def token_for(app, name: str = "tester", quota: int | None = None) -> str:
    with app.extensions[EXTENSION_KEY].db.session() as session:
        return create_client(session, name, quota)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def png_b64(seed: int, size: tuple[int, int] = (24, 16)) -> str:
    """A distinct small PNG per seed, base64."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


class TcpProxy:
    """A loopback TCP forwarder to PostgreSQL that can be cut (listener and live connections closed) and restored.

    It stands in for a database that goes away and comes back: the backend
    connects to the proxy, the test decides when the proxy answers.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        import socket
        import threading

        self._socket, self._threading = socket, threading
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener = None
        self._connections: list = []
        self._lock = threading.Lock()

    def up(self) -> "TcpProxy":
        listener = self._socket.socket()
        listener.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(self._socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not
            except OSError:
                pass
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = self._socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass
