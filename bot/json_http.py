"""JSON POSTs to one of the product's own HTTP services over kept-alive connections.

Every customer message makes two such calls: the gateway's to Rasa and Rasa's to the action server. aiohttp's
client spends about 250 microseconds of Python on each request (a request object, header multidicts, timer
contexts, a response object) where a request to a known server needs a few bytes written and a response parsed:
about 50 here, with the same C parser (llhttp, through httptools) that Sanic uses. What a failure looks like is
aiohttp's, so callers keep their error handling: a server that could not be reached raises `NotConnected` (an
aiohttp ClientConnectorError-like error: nothing was sent), a connection lost before the whole response came
raises aiohttp's ServerDisconnectedError, and a call that outlasts its timeout raises asyncio.TimeoutError.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

import aiohttp
import async_timeout
import httptools
import orjson
from yarl import URL

# Sanic closes a connection idle for 5 s (KEEP_ALIVE_TIMEOUT); one idle this long is closed here first, so a
# request is not written to a connection the server is closing
IDLE_SECONDS = 4.0


class NotConnected(aiohttp.ClientConnectionError):
    """The server could not be reached (refused, unreachable, or no connection within the connect timeout):
    the request was not sent."""


@dataclass
class JsonResponse:
    """A whole response: status, reason, content type and body."""

    status: int
    reason: str
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body read as JSON (ValueError when it is not)."""
        return orjson.loads(self.body)


class _Connection(asyncio.Protocol):
    """One kept-alive connection: one request at a time, its response parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: Optional[asyncio.Future] = None
        self.lost = False
        self.keep_alive = False
        self.idle_since = time.monotonic()
        self._reason = b""
        self._content_type = b""
        self._body: List[bytes] = []

    # -- asyncio.Protocol ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self._close()  # bytes nobody asked for: the connection is out of step
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(aiohttp.ClientPayloadError(f"malformed response: {error}"))

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.lost = True
        self._fail(aiohttp.ServerDisconnectedError())

    # -- httptools callbacks -------------------------------------------------------------------------
    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type":
            self._content_type = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        # asked here: once the parser moves past the message it no longer knows
        self.keep_alive = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(JsonResponse(
                self.parser.get_status_code(), self._reason.decode("latin-1"),
                self._content_type.decode("latin-1").split(";", 1)[0].strip().lower(), b"".join(self._body)))

    # -- used by JsonPoster --------------------------------------------------------------------------
    def send(self, request: bytes) -> asyncio.Future:
        """Writes a request; the future gets its response."""
        assert self.transport is not None
        self._reason, self._content_type, self._body, self.keep_alive = b"", b"", [], False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def reusable(self, now: float) -> bool:
        """Whether a request may be written to it now."""
        return not self.lost and self.transport is not None and not self.transport.is_closing() \
            and now - self.idle_since < IDLE_SECONDS

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self._close()

    def _close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class JsonPoster:
    """POSTs JSON bodies to one URL over at most `max_connections` kept-alive connections (more callers wait
    for one, within their timeout). Made in the event loop it is used in."""

    def __init__(self, url: URL | str, *, max_connections: int = 32, connect_timeout: float = 3.0,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        url = URL(url) if isinstance(url, str) else url
        if url.scheme != "http" or not url.host:
            raise ValueError(f"JsonPoster needs an http:// URL with a host, not {str(url)!r}")
        self.url = url
        self.loop = asyncio.get_running_loop()
        self.connect_timeout = connect_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: List[_Connection] = []
        self._head = self._request_head(url, headers or {})
        # connections opened so far (the tests count them)
        self.opened = 0

    @staticmethod
    def _request_head(url: URL, headers: Mapping[str, str]) -> bytes:
        host = url.host if url.is_default_port() else f"{url.host}:{url.port}"
        lines = [f"POST {url.raw_path_qs} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
                 "Accept: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()
                  if name.lower() not in ("host", "content-type", "content-length", "accept")]
        return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")

    async def post(self, body: bytes, timeout: float) -> JsonResponse:
        """Sends `body` (JSON already written) and returns the whole response, whatever its status."""
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        async with async_timeout.timeout(timeout):
            async with self._slots:
                connection = await self._connection()
                try:
                    response = await connection.send(request)
                except BaseException:
                    connection._close()  # noqa: SLF001 - the response's state is unknown: never reuse it
                    raise
                if connection.keep_alive and not connection.lost:
                    connection.idle_since = time.monotonic()
                    self._idle.append(connection)
                else:
                    connection._close()  # noqa: SLF001
                return response

    async def close(self) -> None:
        """Closes the idle connections (those in use close when their call ends)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection._close()  # noqa: SLF001

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable(now):
                return connection
            connection._close()  # noqa: SLF001
        try:
            async with async_timeout.timeout(self.connect_timeout):
                _, connection = await self.loop.create_connection(_Connection, self.url.host, self.url.port)
        except (OSError, asyncio.TimeoutError) as error:
            raise NotConnected(f"cannot connect to {self.url}: {error or 'no connection in time'}") from None
        self.opened += 1
        return connection

