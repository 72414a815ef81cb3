"""An OAuth2 authorization server on loopback for the sign-in tests: the token endpoint
(client-credentials and refresh-token grants, RFC 6749) that mailbot calls, and the token
introspection endpoint (RFC 7662) that Dovecot's oauth2 passdb and the test SMTP server call
to check the bearer token they were given."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.servers import free_port


class TokenServer:
    def __init__(
        self, client_id: str, client_secret: str, username: str, refresh_token: str = ""
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.username = username
        self.refresh_tokens = {refresh_token} if refresh_token else set()
        self.expires_in = 3600
        self.rotate = False  # answer refresh grants with a new refresh token
        self.tokens: set[str] = set()  # active access tokens
        self.grants: list[dict[str, str]] = []  # every token request's form
        self.introspected = 0
        self.lock = threading.Lock()
        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def revoke_all(self) -> None:
        """What an admin does in the provider's console: every issued token stops working."""
        with self.lock:
            self.tokens.clear()

    def valid(self, token: str) -> bool:
        with self.lock:
            return token in self.tokens

    def _grant(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self.lock:
            self.grants.append(form)
            if form.get("client_id") != self.client_id:
                return 400, {"error": "invalid_client", "error_description": "unknown client"}
            grant = form.get("grant_type")
            answer: dict[str, object] = {}
            if grant == "client_credentials":
                if form.get("client_secret") != self.client_secret:
                    return 401, {"error": "invalid_client", "error_description": "bad secret"}
            elif grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "AADSTS70008: the refresh token has expired",
                    }
                if self.rotate:
                    fresh = "rt-" + secrets.token_hex(8)
                    self.refresh_tokens = {fresh}
                    answer["refresh_token"] = fresh
            else:
                return 400, {"error": "unsupported_grant_type"}
            token = "at-" + secrets.token_hex(16)
            self.tokens.add(token)
            answer.update(
                {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
            )
            return 200, answer

    def _introspect(self, form: dict[str, str]) -> dict[str, object]:
        with self.lock:
            self.introspected += 1
            if form.get("token") in self.tokens:
                return {"active": "true", "username": self.username}
            return {"active": "false"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                form = dict(urllib.parse.parse_qsl(body))
                if self.path == "/token":
                    status, answer = server._grant(form)
                elif self.path == "/introspect":
                    status, answer = 200, server._introspect(form)
                else:
                    status, answer = 404, {"error": "not_found"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
