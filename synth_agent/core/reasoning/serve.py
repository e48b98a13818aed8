"""`synth-agent serve`: the local model behind a minimal OpenAI chat-completions API.

Why: the `openai` backend is how a fleet or a weak onboard computer uses one GPU server, and it
has to be tested against a real HTTP server, not a mock. This is that server, small enough to
read: `GET /v1/models`, `POST /v1/chat/completions` (messages, max_tokens, and
`response_format: json_schema`, which is passed to the local backend's constrained decoding).
It binds to loopback only (a model that drives a robot is not for the network), answers one
request at a time (one model), and bounds the request size and token count.
"""

from __future__ import annotations

import ipaddress
import json
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

MAX_BODY = 256 * 1024
MAX_TOKENS = 512


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _schema_of(body: dict[str, Any]) -> dict | None:
    fmt = body.get("response_format") or {}
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        js = fmt.get("json_schema") or {}
        schema = js.get("schema") if isinstance(js, dict) else None
        return schema if isinstance(schema, dict) else None
    return None


def make_handler(backend, model_name: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet; errors are answered
            return

        def _send(self, code: int, obj: dict) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, code: int, msg: str) -> None:
            self._send(code, {"error": {"message": msg, "type": "invalid_request_error"}})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list",
                                 "data": [{"id": model_name, "object": "model"}]})  # fmt: skip
            else:
                self._error(404, "not found")

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._error(404, "not found")
                return
            n = int(self.headers.get("Content-Length") or 0)
            if not 0 < n <= MAX_BODY:
                self._error(413, f"body must be 1..{MAX_BODY} bytes")
                return
            try:
                body = json.loads(self.rfile.read(n))
                messages = body["messages"]
                if not isinstance(messages, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
                ):
                    raise ValueError("messages must be a list of {role, content}")
                max_tokens = int(body.get("max_tokens") or 96)
                if not 1 <= max_tokens <= MAX_TOKENS:
                    raise ValueError(f"max_tokens must be within 1..{MAX_TOKENS}")
            except (ValueError, KeyError, TypeError) as e:
                self._error(400, f"bad request: {e}")
                return
            msgs = [{"role": str(m.get("role", "user")), "content": m["content"]} for m in messages]
            t0 = time.time()
            try:
                text = backend.complete(msgs, _schema_of(body), max_tokens)
            except Exception as e:  # noqa: BLE001 - report, keep serving
                self._error(500, f"generation failed: {e}")
                return
            self._send(200, {
                "id": f"chatcmpl-{int(t0 * 1000)}",
                "object": "chat.completion",
                "created": int(t0),
                "model": model_name,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
            })  # fmt: skip

    return Handler


def make_server(backend, host: str = "127.0.0.1", port: int = 8000, model_name: str = "local"):
    """An HTTPServer on loopback (refuses any other address); port 0 picks a free one."""
    if not is_loopback(host):
        raise ValueError(f"serve: refusing to bind {host!r}; only loopback addresses are allowed")
    return HTTPServer((host, port), make_handler(backend, model_name))
