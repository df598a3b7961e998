"""A loopback HTTP relay in front of one live SGLang server that keeps, per request id, the lines of every
chat-completions response it relays: the page's own request can then be compared with what the server
(and its plugin) sent for it, instead of with a second request whose sampling differs (SGLang's seeded
sampling on a CPU is not repeatable). Everything else (health, aborts, loads) is relayed as it is; a
client that hangs up mid-stream closes the upstream stream too, as it would have without the relay."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class SseTee:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.streams: dict[str, list[str]] = {}  # rid -> the response's non-empty lines
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="sse-tee").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def rids(self) -> set[str]:
        with self.lock:
            return set(self.streams)

    def lines(self, rid: str) -> list[str]:
        with self.lock:
            return list(self.streams.get(rid, []))

    def close(self) -> None:
        self.server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tee = self

        class Relay(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self.relay(b"")

            def do_POST(self) -> None:
                self.relay(self.rfile.read(int(self.headers.get("content-length") or 0)))

            def relay(self, body: bytes) -> None:
                rid = json.loads(body).get("rid") if self.path.startswith("/v1/chat/completions") else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                with httpx.stream(self.command, tee.upstream + self.path, content=body or None, headers=headers,
                                  timeout=httpx.Timeout(600.0, connect=5.0)) as resp:  # fmt: skip
                    self.send_response(resp.status_code)
                    for k, v in resp.headers.items():
                        if k.lower() not in HOP:
                            self.send_header(k, v)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    pending = b""
                    try:
                        for chunk in resp.iter_raw():
                            self.wfile.write(chunk)
                            self.wfile.flush()
                            if rid is not None:
                                pending = tee.keep(rid, pending + chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client hung up: leaving the block closes the upstream stream
                    if rid is not None and pending:
                        tee.keep(rid, pending + b"\n")

        return Relay

    def keep(self, rid: str, data: bytes) -> bytes:
        """Store the complete lines of `data` under `rid`; the unfinished rest comes back."""
        *done, rest = data.split(b"\n")
        with self.lock:
            self.streams.setdefault(rid, []).extend(line.decode() for line in done if line.strip())
        return rest
