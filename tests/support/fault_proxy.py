"""A loopback HTTP proxy in front of the Cosmos DB emulator that injects faults on the real protocol.

- `throttle(status, count, retry_after_ms)`: the next `count` document writes are answered with `status`
  (429 or 503) and an `x-ms-retry-after-ms` header, without reaching the emulator.
- `cut_after(writes)`: after `writes` more document writes, every connection is dropped without an answer,
  as when the server dies (the emulator keeps its data, so the test can look behind the cut).
- `restore()`: forward everything again.
Every request is logged as (monotonic time, method, path, status) with status 0 for a dropped one.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class FaultProxy:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.log: list[tuple[float, str, str, int]] = []
        self._throttle_left = 0
        self._throttle_status = 429
        self._retry_after_ms = 0
        self._cut_after: int | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                is_write = self.command in ("POST", "PUT") and "/docs" in self.path
                action = proxy._decide(is_write)
                if action == "cut":
                    proxy._record(self.command, self.path, 0)
                    self.close_connection = True
                    self.connection.close()
                    return
                if action == "throttle":
                    status = proxy._throttle_status
                    payload = b'{"code":"TooManyRequests","message":"injected by the test proxy"}'
                    self.send_response(status)
                    self.send_header("x-ms-retry-after-ms", str(proxy._retry_after_ms))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    proxy._record(self.command, self.path, status)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                proxy._record(self.command, self.path, response.status)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _decide(self, is_write: bool) -> str:
        with self.lock:
            if self._cut_after is not None and self._cut_after <= 0:
                return "cut"
            if is_write and self._throttle_left > 0:
                self._throttle_left -= 1
                return "throttle"
            if is_write and self._cut_after is not None:
                self._cut_after -= 1
            return "forward"

    def _record(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.log.append((time.monotonic(), method, path, status))

    def throttle(self, status: int, count: int, retry_after_ms: int) -> None:
        with self.lock:
            self._throttle_status, self._throttle_left, self._retry_after_ms = status, count, retry_after_ms

    def cut_after(self, writes: int) -> None:
        with self.lock:
            self._cut_after = writes

    def restore(self) -> None:
        with self.lock:
            self._cut_after = None
            self._throttle_left = 0

    def statuses(self) -> list[int]:
        with self.lock:
            return [status for _, _, _, status in self.log]
