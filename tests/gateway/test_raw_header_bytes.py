"""A raw non-ASCII byte in a credential or Origin header (aiohttp hands it on as a lone surrogate) is refused
with a 4xx like any bad credential; it answered 500 when the token was hashed or the refusal written."""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway.test_handoff import add_agent


async def raw_status(client, method: str, path: str, header: bytes, body: bytes = b"") -> int:
    """The status line's code for a request written byte by byte, with `header` as one raw header line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + b"\r\n"
                 + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("method,path,header,body", [
    ("POST", "/chat/api/messages", b"X-Resume-Token: ab\xff\xfecd",
     b'{"session_id": "abcdefgh", "client_id": "m1", "text": "hi"}'),
    ("POST", "/chat/api/frames", b"X-Resume-Token: \xe9\xe9", b'{"session_id": "abcdefgh", "type": "rating"}'),
    ("GET", "/console/api/queue", b"Authorization: Bearer to\xffken", b""),
    ("GET", "/dashboard/api/summary", b"Cookie: console_session=to\xffken", b""),
    ("POST", "/console/api/tickets/next", b"Origin: http://ev\xffil.example", b"{}"),
])
async def test_raw_bytes_in_a_credential_or_origin_get_a_4xx(client, method, path, header, body):
    add_agent(client, "li", "小李")
    status = await raw_status(client, method, path, header, body)
    assert 400 <= status < 500, status
