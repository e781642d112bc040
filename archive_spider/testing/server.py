"""HTTP plumbing of the local sites: replies, answer plans and a threaded listener."""

from __future__ import annotations

import html
import json
import logging
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body, Content-Type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Plan:
    """How to answer one request: the reply, an injected fault kind, seconds to wait first."""

    reply: Reply
    fault: str | None = None
    delay: float = 0.0

    @property
    def status(self) -> int:
        """The status the client gets: 0 for a connection reset without an answer."""
        return 0 if self.fault == "reset" else self.reply.status


# Answers one request: (method, path with query, body, Host header or None) -> Plan.
Answer = Callable[[str, str, bytes, str | None], Plan]


def html_reply(status: int, text: str, *headers: tuple[str, str]) -> Reply:
    return Reply(status, text.encode(), "text/html; charset=utf-8", headers)


def json_reply(status: int, value: Any) -> Reply:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, "application/json; charset=utf-8")


def xml_reply(text: str, content_type: str = "application/xml; charset=utf-8") -> Reply:
    return Reply(200, text.encode(), content_type)


def redirect(status: int, location: str) -> Reply:
    return Reply(status, headers=(("Location", location),))


def simple_page(title: str, body: str) -> str:
    """A bare HTML document."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>\n"
    )


class Listener:
    """An HTTP server on its own thread that answers each request as `answer` plans it.
    Binds `address` at once (OSError if it cannot), serves until `stop()`."""

    def __init__(self, address: tuple[str, int], answer: Answer, name: str) -> None:
        self._server = _Server(address, answer)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{name}-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def stop(self) -> None:
        """Stop serving; answers waiting out a delay are dropped."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], answer: Answer) -> None:
        self.answer = answer
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (as tests of timeouts do) are not errors of the site."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("connection from %s ended: %s", client_address, error)
        else:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection stays open
    disable_nagle_algorithm = True  # else each keep-alive answer waits 40 ms for an ACK
    server: _Server

    def version_string(self) -> str:
        return "cloudflare"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            self.send_error(400, "Bad Content-Length")
            return
        if int(length) > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(int(length))
        plan = self.server.answer(method, self.path, body, self.headers.get("Host"))
        if plan.delay and self.server.stopping.wait(plan.delay):
            self.close_connection = True
            return
        if plan.fault == "reset":
            self._reset()
            return
        reply = plan.reply
        payload = reply.body
        if plan.fault == "truncated":
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError) as error:
            logger.debug("%s %s: the client left before the answer: %s", method, self.path, error)
            self.close_connection = True

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, without a byte of answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
