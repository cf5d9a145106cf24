"""In-repo fake of the Telegram Bot API, served over HTTP on 127.0.0.1.

Owns: an HTTP server (stdlib ``ThreadingHTTPServer`` in a daemon thread) that speaks the
Bot API wire format python-telegram-bot 22.8 uses (``POST /bot<token>/<method>``, form-encoded
values, ``{"ok": ..., "result": ...}`` envelopes), an update queue served through long-polled
``getUpdates``, a record of every call and of every message the bot sent or edited, and
scripted failures (HTTP errors, delays, dropped connections).

Must not: import python-telegram-bot or any project module (bot/, feeds/, storage/), touch
the real network, depend on the caller's asyncio loop, or write to stderr during normal use.
Because it runs in its own thread it can also serve a bot running in a separate process.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl

JSONDict = dict[str, Any]

# fmt: off
#: Form values that are always plain strings, even when they look like JSON ("123", "true").
RAW_STRING_KEYS = frozenset({
    "text", "caption", "callback_query_id", "url", "parse_mode", "description",
    "inline_message_id", "language_code", "short_description", "name", "message_effect_id",
})
ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
    "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
    "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
)
GIFT_TYPES = (
    "unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
    "gifts_from_channels",
)
# fmt: on
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
_QUIET_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_POLL_STEP = 0.01


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    times: int
    chat_id: int | None


class _ApiError(Exception):
    """Raised by a method implementation to answer with an error envelope."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, parameters: JSONDict | None = None) -> JSONDict:
    body: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _decode(key: str, raw: str) -> Any:
    if key in RAW_STRING_KEYS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if key == "chat_id" and isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    return value


def _parse_params(content_type: str, body: bytes, query: str) -> JSONDict:
    pairs = parse_qsl(query, keep_blank_values=True)
    if content_type.startswith("multipart/form-data"):
        header = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                value = f"<file:{filename}>" if filename else payload.decode("utf-8", "replace")
                pairs.append((name, value))
    elif body:
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return {key: _decode(key, raw) for key, raw in pairs}


def _inline_markup(markup: Any) -> JSONDict | None:
    """Only non-empty inline keyboards are stored on a Message, as Telegram does."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                   "pre", "span", "tg-spoiler", "tg-emoji", "blockquote"})


class _HTMLCheck(HTMLParser):
    """Telegram's HTML parse mode: only its tags, balanced; counts the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.visible = 0
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.error = self.error or f"Unsupported start tag \"{tag}\""
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = self.error or f"Unmatched end tag \"{tag}\""

    def handle_data(self, data: str) -> None:
        self.visible += len(data.encode("utf-16-le")) // 2


def _check_text(params: JSONDict) -> None:
    """Refuse what Telegram refuses: empty or too long text, bad HTML, long callback data."""
    text = str(params.get("text", ""))
    visible = len(text.encode("utf-16-le")) // 2
    if params.get("parse_mode") == "HTML":
        check = _HTMLCheck()
        check.feed(text)
        check.close()
        if check.error or check.stack:
            raise _ApiError(400, "Bad Request: can't parse entities: "
                            + (check.error or "unclosed tags"))
        visible = check.visible
    if not text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if visible > 4096:
        raise _ApiError(400, "Bad Request: message is too long")
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        fake = cast(_Server, self.server).fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        prefix, _, method = path.rpartition("/")
        token = prefix[len("/bot") :] if prefix.startswith("/bot") else None
        params = _parse_params(self.headers.get("Content-Type", ""), body, query)
        answer = fake._dispatch(token, method, params)
        if answer is None:  # scripted connection drop: close the socket without answering
            self.close_connection = True
            return
        status, envelope = answer
        data = json.dumps(envelope).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except _QUIET_ERRORS:
            self.close_connection = True  # client gave up, e.g. cancelled long poll

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeTelegramAPI, host: str, port: int) -> None:
        self.fake = fake
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], _QUIET_ERRORS):
            super().handle_error(request, client_address)


class FakeTelegramAPI:
    """A scriptable Telegram Bot API; use as ``with FakeTelegramAPI() as fake:``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._requested_port = host, port
        self.bot_user: JSONDict = {
            "id": 999000,
            "is_bot": True,
            "first_name": "deportwatch",
            "username": "deportwatch_bot",
        }
        self.chat_admins: dict[int, list[int]] = {}
        self.chat_members: dict[int, set[int]] = {}
        self.unknown_methods: list[str] = []
        self.server_errors: list[str] = []  # tracebacks of bugs inside the fake itself
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._token_seen: str | None = None
        self._calls: list[tuple[str, JSONDict]] = []
        self._updates: list[JSONDict] = []
        # getUpdates long polls in progress, and how often one began while another was
        # (Telegram allows one poller per token: two instances must never overlap).
        self.polls_active = 0
        self.poll_overlaps = 0
        self._next_update_id = 1
        self._next_incoming_id = 100_000  # user messages; bot messages count from 1 per chat
        self._next_message_id: dict[int, int] = {}
        self._sent: list[JSONDict] = []
        self._live: dict[tuple[int, int], JSONDict] = {}
        self._incoming: dict[tuple[int, int], JSONDict] = {}
        self._edits: dict[tuple[int, int], list[JSONDict]] = {}
        self._deleted: list[tuple[int, int]] = []
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._commands: dict[str, list[JSONDict]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._delays: dict[str, float] = {}
        self._after_delays: dict[str, float] = {}
        self._hangs: dict[str, list[float]] = {}
        self._drops: dict[str, int] = {}
        self._methods: dict[str, Callable[[JSONDict], Any]] = {
            "getme": lambda _p: dict(self.bot_user),
            "deletewebhook": self._done,
            "setwebhook": lambda _p: False,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_text,
            "editmessagereplymarkup": self._edit_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._done,
            "setmycommands": self._set_commands,
            "deletemycommands": self._delete_commands,
            "getmycommands": self._get_commands,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_admins,
            "close": self._done,
            "logout": self._done,
        }

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTelegramAPI:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self, self._host, self._requested_port)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                args=(0.05,),
                name="fake-telegram-api",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        with self._cond:
            self._stopping.set()  # wakes long polls and delayed answers
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeTelegramAPI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegramAPI is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def token_seen(self) -> str | None:
        with self._lock:
            return self._token_seen

    # -- injecting updates ----------------------------------------------------------------

    def push_update(self, raw: JSONDict) -> int:
        """Queue a raw Update dict (update_id assigned if missing); returns its update_id."""
        with self._cond:
            update = copy.deepcopy(raw)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
            self._updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def push_message(
        self,
        text: str,
        *,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str | None = None,
        first_name: str = "User",
        username: str | None = None,
    ) -> int:
        """Queue a text message from a user; a leading /command gets its bot_command entity.

        chat_id defaults to user_id (private chat); negative ids starting with -100 are
        supergroups, other negative ids groups, unless chat_type says otherwise.
        """
        chat_id = user_id if chat_id is None else chat_id
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        with self._lock:
            self._users[user_id] = user
            chat = self._chat(chat_id, chat_type, user)
            self._chats[chat_id] = chat
            message: JSONDict = {
                "message_id": self._next_incoming_id,
                "date": int(time.time()),
                "chat": chat,
                "from": user,
                "text": text,
            }
            self._next_incoming_id += 1
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                length = len(command.encode("utf-16-le")) // 2  # Telegram counts UTF-16 units
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
            self._incoming[(chat_id, message["message_id"])] = message
            return self.push_update({"message": message})

    def push_callback(
        self, data: str, *, user_id: int, chat_id: int, message_id: int, first_name: str = "User"
    ) -> str:
        """Queue a button press on a bot message; returns the callback_query id."""
        with self._lock:
            user = self._users.setdefault(
                user_id, {"id": user_id, "is_bot": False, "first_name": first_name}
            )
            message = self._live.get((chat_id, message_id)) or {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
            }
            query: JSONDict = {"id": str(4_000_000 + self._next_update_id), "from": user}
            query.update(chat_instance=str(chat_id), data=data, message=message)
            self.push_update({"callback_query": query})
            return str(query["id"])

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued but not yet confirmed by a getUpdates ``offset``."""
        with self._lock:
            return copy.deepcopy(self._updates)

    # -- failure scripting ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` matching calls of ``method`` with this error."""
        failure = _Failure(status, description, retry_after, migrate_to_chat_id, times, chat_id)
        with self._lock:
            self._failures.setdefault(method.lower(), []).append(failure)

    def clear_failures(self) -> None:
        """Forget every scripted failure that has not happened yet."""
        with self._lock:
            self._failures.clear()

    def set_delay(self, method: str, seconds: float, *, after: bool = False) -> None:
        """Hold every answer to ``method`` for ``seconds`` (0 to switch off): before doing
        it, or with ``after`` once it is done (Telegram accepted, the answer is late)."""
        with self._lock:
            (self._after_delays if after else self._delays)[method.lower()] = seconds

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are held for ``seconds`` and then dropped
        without being done (a request lost on the way: the client times out)."""
        with self._lock:
            self._hangs.setdefault(method.lower(), []).extend([seconds] * times)

    def drop_connection_next(self, method: str, times: int = 1) -> None:
        """Close the socket without an answer on the next ``times`` calls of ``method``."""
        with self._lock:
            self._drops[method.lower()] = self._drops.get(method.lower(), 0) + times

    # -- inspection -----------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, JSONDict]]:
        """Every request as (method as sent, decoded params), including failed ones."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_to(self, method: str) -> list[JSONDict]:
        return [params for name, params in self.calls if name == method]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self.unknown_methods.clear()

    def messages(self, chat_id: int | None = None) -> list[JSONDict]:
        """Messages the bot sent successfully, in send order, in their current (edited) form."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._sent
                if chat_id is None or m["chat"]["id"] == chat_id
            ]

    def last_message(self, chat_id: int) -> JSONDict | None:
        sent = self.messages(chat_id)
        return sent[-1] if sent else None

    def replies_to(self, user_or_chat_id: int) -> list[JSONDict]:
        """Messages sent into that chat, or quoting a message from that user."""
        return [
            m
            for m in self.messages()
            if m["chat"]["id"] == user_or_chat_id
            or m.get("reply_to_message", {}).get("from", {}).get("id") == user_or_chat_id
        ]

    def edit_history(self, chat_id: int, message_id: int) -> list[JSONDict]:
        """Snapshots of a sent message taken before each successful edit, oldest first."""
        with self._lock:
            return copy.deepcopy(self._edits.get((chat_id, message_id), []))

    def deleted_messages(self) -> list[tuple[int, int]]:
        with self._lock:
            return list(self._deleted)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll ``predicate`` until true or timeout (blocks; use await_for inside a loop)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_STEP)
        return True

    async def await_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Like wait_for, but sleeps with asyncio so the bot on this loop keeps running."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_STEP)
        return True

    def wait_for_messages(self, chat_id: int, count: int, timeout: float = 10.0) -> list[JSONDict]:
        self.wait_for(lambda: len(self.messages(chat_id)) >= count, timeout)
        return self.messages(chat_id)

    async def await_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[JSONDict]:
        await self.await_for(lambda: len(self.messages(chat_id)) >= count, timeout)
        return self.messages(chat_id)

    # -- request dispatch (runs on server threads) ----------------------------------------

    def _dispatch(
        self, token: str | None, method: str, params: JSONDict
    ) -> tuple[int, JSONDict] | None:
        """Answer one request as (HTTP status, envelope), or None to drop the connection."""
        key = method.lower()
        with self._lock:
            if token is not None:
                self._token_seen = token
            self._calls.append((method, copy.deepcopy(params)))
            delay = self._delays.get(key, 0.0)
            after = self._after_delays.get(key, 0.0)
            hangs = self._hangs.get(key)
            hang = hangs.pop(0) if hangs else 0.0
            drop = self._drops.get(key, 0) > 0
            if drop:
                self._drops[key] -= 1
            failure = None if drop else self._take_failure(key, params.get("chat_id"))
        if hang > 0:
            self._stopping.wait(hang)
            return None
        if delay > 0:
            self._stopping.wait(delay)
        if drop:
            return None
        if failure is not None:
            parameters: JSONDict = {}
            if failure.retry_after is not None:
                parameters["retry_after"] = failure.retry_after
            if failure.migrate_to_chat_id is not None:
                parameters["migrate_to_chat_id"] = failure.migrate_to_chat_id
            return failure.status, _error(failure.status, failure.description, parameters)
        implementation = self._methods.get(key)
        if implementation is None:
            with self._lock:
                self.unknown_methods.append(method)
            return 400, _error(400, "Bad Request: method not found")
        try:
            result = implementation(params)
            if after > 0:
                self._stopping.wait(after)
            return 200, {"ok": True, "result": result}
        except _ApiError as exc:
            return exc.status, _error(exc.status, exc.description)
        except Exception:  # a bug in the fake: answer 500 and keep the traceback for the test
            with self._lock:
                self.server_errors.append(traceback.format_exc())
            return 500, _error(500, f"Internal Server Error: fake failed on {method}")

    def _take_failure(self, key: str, chat_id: Any) -> _Failure | None:
        for failure in self._failures.get(key, []):
            if failure.chat_id is None or failure.chat_id == chat_id:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures[key].remove(failure)
                return failure
        return None

    # -- method implementations -----------------------------------------------------------

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        with self._cond:
            if params.get("offset") is not None:
                offset = int(params["offset"])
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.poll_overlaps += self.polls_active > 0
            self.polls_active += 1
            try:
                self._cond.wait_for(lambda: bool(self._updates) or self._stopping.is_set(),
                                    timeout)
                return copy.deepcopy(self._updates[:limit])
            finally:
                self.polls_active -= 1

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        _check_text(params)
        with self._lock:
            message_id = self._next_message_id.get(chat_id, 0) + 1
            self._next_message_id[chat_id] = message_id
            message: JSONDict = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": dict(self.bot_user),
                "text": str(params.get("text", "")),
            }
            markup = _inline_markup(params.get("reply_markup"))
            if markup is not None:
                message["reply_markup"] = markup
            reply = params.get("reply_parameters") or {}
            reply_key = (chat_id, int(reply.get("message_id") or 0))
            original = self._incoming.get(reply_key) or self._live.get(reply_key)
            if original is not None:
                message["reply_to_message"] = copy.deepcopy(original)
            self._sent.append(message)
            self._live[(chat_id, message_id)] = message
            return copy.deepcopy(message)

    def _edit(self, params: JSONDict, text: str | None) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        key = (self._chat_id(params), int(params.get("message_id") or 0))
        markup = _inline_markup(params.get("reply_markup"))
        with self._lock:
            message = self._live.get(key)
            if message is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            new_text = message.get("text") if text is None else text
            if new_text == message.get("text") and markup == message.get("reply_markup"):
                raise _ApiError(400, NOT_MODIFIED)
            self._edits.setdefault(key, []).append(copy.deepcopy(message))
            message["text"] = new_text
            message["edit_date"] = int(time.time())
            message.pop("reply_markup", None)
            if markup is not None:
                message["reply_markup"] = markup
            return copy.deepcopy(message)

    def _edit_text(self, params: JSONDict) -> JSONDict | bool:
        _check_text(params)
        return self._edit(params, str(params.get("text", "")))

    def _edit_markup(self, params: JSONDict) -> JSONDict | bool:
        return self._edit(params, None)

    def _delete_message(self, params: JSONDict) -> bool:
        key = (self._chat_id(params), int(params.get("message_id") or 0))
        with self._lock:
            if self._live.pop(key, None) is None:
                raise _ApiError(400, "Bad Request: message to delete not found")
            self._deleted.append(key)
            return True

    @staticmethod
    def _scope_key(params: JSONDict) -> str:
        return json.dumps([params.get("scope"), params.get("language_code")], sort_keys=True)

    def _set_commands(self, params: JSONDict) -> bool:
        with self._lock:
            self._commands[self._scope_key(params)] = list(params.get("commands") or [])
            return True

    def _delete_commands(self, params: JSONDict) -> bool:
        with self._lock:
            self._commands.pop(self._scope_key(params), None)
            return True

    def _get_commands(self, params: JSONDict) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._scope_key(params), []))

    def _get_chat(self, params: JSONDict) -> JSONDict:
        gifts = dict.fromkeys(GIFT_TYPES, False)
        with self._lock:
            return {
                **self._chat(self._chat_id(params)),
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": gifts,
            }

    def _admin(self, chat_id: int, user_id: int) -> JSONDict:
        user = self._user(user_id)
        if self.chat_admins[chat_id][0] == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        rights = dict.fromkeys(ADMIN_RIGHTS, True)
        rights.update(can_be_edited=False, is_anonymous=False)
        return {"status": "administrator", "user": user, **rights}

    def _get_admins(self, params: JSONDict) -> list[JSONDict]:
        chat_id = self._chat_id(params)
        with self._lock:
            return [self._admin(chat_id, uid) for uid in self.chat_admins.get(chat_id, [])]

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id, user_id = self._chat_id(params), int(params.get("user_id") or 0)
        with self._lock:
            if user_id in self.chat_admins.get(chat_id, []):
                return self._admin(chat_id, user_id)
            status = "member" if user_id in self.chat_members.get(chat_id, set()) else "left"
            return {"status": status, "user": self._user(user_id)}

    # -- helpers (callers hold the lock where state is read) ------------------------------

    @staticmethod
    def _done(_params: JSONDict) -> bool:
        return True

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        """Only numeric chat ids are supported; "@username" answers 'chat not found'."""
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _user(self, user_id: int) -> JSONDict:
        if user_id == self.bot_user["id"]:
            return dict(self.bot_user)
        return dict(
            self._users.get(user_id)
            or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        )

    def _chat(
        self, chat_id: int, chat_type: str | None = None, user: JSONDict | None = None
    ) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None and user is None and chat_type in (None, known["type"]):
            return dict(known)
        if chat_type is None:
            chat_type = (
                "private"
                if chat_id > 0
                else ("supergroup" if str(chat_id).startswith("-100") else "group")
            )
        if chat_type == "private":
            user = user or self._user(chat_id)
            names: JSONDict = {k: user[k] for k in ("first_name", "username") if k in user}
            return {"id": chat_id, "type": chat_type, **names}
        return {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}
