"""A tiny SMTP server on 127.0.0.1 for the tests of the web chat's e-mail notice: it speaks just enough of the
protocol for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, no TLS, no login) and keeps what it got."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Optional


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_content()


@dataclass
class SmtpServer:
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: Optional[asyncio.base_events.Server] = None

    async def start(self) -> "SmtpServer":
        self._server = await asyncio.start_server(self._talk, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def answer(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await answer("220 localhost test SMTP")
        sender, recipients = "", []
        try:
            while line := await reader.readline():
                command = line.decode("utf-8", "replace").strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    await answer("250-localhost\r\n250 8BITMIME")
                elif verb == "HELO" or verb == "NOOP":
                    await answer("250 OK")
                elif verb == "MAIL":
                    sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                    await answer("250 OK")
                elif verb == "RCPT":
                    recipients.append(command.split(":", 1)[1].strip(" <>"))
                    await answer("250 OK")
                elif verb == "DATA":
                    await answer("354 End data with <CR><LF>.<CR><LF>")
                    data = await reader.readuntil(b"\r\n.\r\n")
                    body = data[:-5].replace(b"\r\n..", b"\r\n.")
                    message = message_from_bytes(body, policy=policy.default)
                    self.received.append(Received(sender, recipients, message))  # type: ignore[arg-type]
                    await answer("250 OK: queued")
                elif verb == "RSET":
                    sender, recipients = "", []
                    await answer("250 OK")
                elif verb == "QUIT":
                    await answer("221 Bye")
                    break
                else:
                    await answer("502 Command not implemented")
        finally:
            writer.close()
