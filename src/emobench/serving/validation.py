"""What the service accepts: the JSON of a request read strictly, and refusals that never echo the input."""
import email.message
import json


# The per-text problems the service itself checks (pydantic checks the rest). Each is raised by the item's own
# validator, so pydantic puts the item's index at the end of its ``loc`` (["body", "texts", 3]), and the message
# is written "texts[3] ..." from that ``loc``.
TEXT_ERRORS = ("text_empty", "text_too_long", "text_lone_surrogate")


def not_all_whitespace() -> str:
    """The JSON Schema ``pattern`` of a text that ``str.strip()`` leaves non-empty: one character that is not Python
    whitespace. Spelled out, because a schema's ``\\S`` (ECMA 262) differs from Python's on U+001C-U+001F, U+0085
    and U+FEFF."""
    return "[^" + "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace()) + "]"


def clean_errors(errors: list[dict], most: int = 80) -> list[dict]:
    """Validation errors without the input they refer to (a 422 never echoes a body back, nor a NaN that JSON
    cannot carry): each message bounded and never empty, each name in ``loc`` bounded (a refused key is named, not
    copied whole), and at most ``most`` of them (the rest counted in a last entry), so that an answer stays small
    whatever the request."""
    def message(e: dict) -> str:
        reason = (e.get("ctx") or {}).get("error") if e.get("type") == "json_invalid" else None
        text = f"{e.get('msg', '')} ({reason})" if reason else str(e.get("msg", ""))
        loc = tuple(e.get("loc", ()))
        if e.get("type") in TEXT_ERRORS and len(loc) >= 2 and loc[-2] == "texts" and isinstance(loc[-1], int):
            text = f"texts[{loc[-1]}] {text}"
        return text or str(e.get("type") or "invalid request")

    def name(part) -> str | int:
        if isinstance(part, int) and not isinstance(part, bool):
            return part
        part = str(part)
        return part if len(part) <= 40 else f"{part[:40]}... ({len(part)} characters)"

    cleaned = [{"loc": [name(part) for part in e.get("loc", ())] or ["body"], "msg": message(e)[:300],
                "type": str(e.get("type", ""))} for e in errors[:most]]
    if len(errors) > most:
        cleaned.append({"loc": ["body"], "msg": f"and {len(errors) - most} more problems", "type": "too_many_problems"})
    return cleaned


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type is one FastAPI reads as JSON (application/json, application/*+json)."""
    if not content_type:
        return False
    maintype, _, subtype = _parse_content_type(content_type)[0].partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def strict_route():
    """FastAPI's documented custom-route pattern, for rules of its own: a JSON body naming a key twice is refused
    (json.loads would keep the last "texts" silently), and so is one nested too deeply to parse, or holding a number
    too long to convert; and a body that is not sent as JSON is refused as such (FastAPI would read it as bytes and
    answer that "Input should be a valid dictionary")."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.routing import APIRoute

    def unique(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise json.JSONDecodeError(f"key {key[:40]!r} appears twice", "", 0)
            seen.add(key)
        return dict(pairs)

    class StrictJSONRequest(Request):
        async def json(self):
            if not hasattr(self, "_json"):
                try:
                    # decoded as UTF-8 first: json.loads would guess UTF-16 or UTF-32 from a body's first bytes
                    self._json = json.loads((await self.body()).decode("utf-8"), object_pairs_hook=unique)
                except RecursionError:
                    raise json.JSONDecodeError("nested too deeply", "", 0) from None
                except UnicodeDecodeError as exc:
                    raise json.JSONDecodeError(f"byte {exc.object[exc.start:exc.start + 1]!r} at {exc.start} is not "
                                               "UTF-8; expected a UTF-8 body", "", exc.start) from None
                except json.JSONDecodeError:
                    raise
                except ValueError as exc:  # a number of more than 4,300 digits (int's conversion limit)
                    raise json.JSONDecodeError(str(exc).split(";")[0][:200], "", 0) from None
            return self._json

    class StrictRoute(APIRoute):
        def get_route_handler(self):
            handler = super().get_route_handler()
            takes_body = self.body_field is not None

            async def strict(request):
                request = StrictJSONRequest(request.scope, request.receive)
                if takes_body:
                    refuse_what_is_not_read(request)
                content_type = request.headers.get("content-type")
                if takes_body and not is_json(content_type) and await request.body():
                    sent = f"Content-Type {content_type.split(';')[0][:60]!r}" if content_type else "no Content-Type"
                    raise RequestValidationError([{
                        "type": "content_type", "loc": ("header", "content-type"),
                        "msg": f"expected a JSON body sent with Content-Type: application/json; got {sent}"}])
                return await handler(request)
            return strict

    return StrictRoute


def refuse_what_is_not_read(request) -> None:
    """What a body endpoint would otherwise ignore in silence: query parameters (``/explain?label=anger`` explained
    the predicted label), a compressed body, a charset other than UTF-8."""
    from fastapi.exceptions import RequestValidationError

    def refused(loc, msg, kind):
        raise RequestValidationError([{"type": kind, "loc": loc, "msg": msg}])

    if request.query_params:
        name = next(iter(request.query_params.keys()))
        refused(("query", name[:40]), "this endpoint reads its JSON body only; put the field in the body",
                "query_unknown")
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        refused(("header", "content-encoding"), f"{encoding[:40]!r}: expected an uncompressed body", "content_encoding")
    _, params = _parse_content_type(request.headers.get("content-type") or "")
    charset = params.get("charset", "utf-8").strip().lower().strip('"')
    if charset not in ("utf-8", "utf8"):
        refused(("header", "content-type"), f"charset {charset[:40]!r}: expected utf-8 (JSON is UTF-8)", "charset")


def _parse_content_type(value: str) -> tuple[str, dict]:
    message = email.message.Message()
    message["content-type"] = value
    return message.get_content_type(), dict((k.lower(), v) for k, v in message.get_params()[1:])
