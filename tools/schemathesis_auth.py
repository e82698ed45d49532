"""Schemathesis hooks: sign every request with the demo credentials of its family, so the fuzzer
reaches the decoders instead of stopping at 401, and record which operations answered what.

Loaded by tools/schemathesis.sh (SCHEMATHESIS_HOOKS=schemathesis_auth). The server runs with
--timezone UTC, so req-time is written in UTC here. Signing follows README "Authentication":
property md5(transaction-id + req-time + app-id + body-or-?query + secret) with the app's bearer
token; BaaS md5(req-time + appkey + body + secret); call-center bearer token; utility SYS_HEAD
in the body; the operator's paths the admin token. Each answer is appended to the file named by
ST_ANSWERS as "METHOD PATH STATUS".
"""

import hashlib
import json
import os
import threading
import time
import urllib.parse
import uuid

import schemathesis

PROPERTY = ("micro-community", "demo-property-secret", "demo-property-token")
BAAS = ("xxxde52a0axxxaefa93c6xxxx7bxxx60", "demo-baas-secret")
CALLCENTER_TOKEN = "demo-callcenter-token"
ADMIN_TOKEN = "demo-admin-token"
SYS_HEAD = {
    "CHANNEL_DID": "CH00000000000001",
    "DYNAMIC_KEY": "demo-dynamic-key-0001",
    "REGISTER_DID": "R000000000000001",
    "ACCOUNT_DID": "A000000000000001",
}

_lock = threading.Lock()


def _md5(*parts: bytes) -> str:
    h = hashlib.md5()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_string(case) -> str:
    """Replaces the case's query with its text form and returns it as sent (urlencode, as the
    HTTP client encodes it)."""
    if not case.query:
        return ""
    query = {}
    for key, value in case.query.items():
        if value is None:
            continue
        query[key] = [_text(v) for v in value] if isinstance(value, list) else _text(value)
    case.query = query
    return urllib.parse.urlencode(query, doseq=True)


def _body(case, kwargs) -> bytes:
    """Serializes a JSON body once and sends exactly those bytes, so the signature covers them."""
    if not hasattr(case, "body") or case.body is None or type(case.body).__name__ == "NotSet":
        return b""
    if isinstance(case.body, bytes):
        data = case.body
    else:
        data = json.dumps(case.body, ensure_ascii=False).encode()
    kwargs["data"] = data
    return data


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    headers = dict(case.headers or {})
    req_time = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    if path.startswith("/Service/") and isinstance(case.body, dict):
        case.body = {**case.body, "SYS_HEAD": SYS_HEAD}
    if path.startswith("/app/"):
        if case.method.upper() == "GET":
            query = _query_string(case)
            content = ("?" + query).encode() if query else b""
        else:
            content = _body(case, kwargs)
        tid = headers.get("transaction-id") or f"st-{uuid.uuid4().hex}"
        headers.update({
            "app-id": PROPERTY[0],
            "transaction-id": tid,
            "req-time": req_time,
            "sign": _md5(tid.encode(), req_time.encode(), PROPERTY[0].encode(), content,
                         PROPERTY[1].encode()),
            "Authorization": f"Bearer {PROPERTY[2]}",
        })
    elif path.startswith("/occ/"):
        body = _body(case, kwargs)
        headers.update({
            "appkey": BAAS[0],
            "req-time": req_time,
            "sign": _md5(req_time.encode(), BAAS[0].encode(), body, BAAS[1].encode()),
        })
    elif path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {CALLCENTER_TOKEN}"
    elif path.startswith(("/ui", "/commands/", "/digest")):
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    case.headers = headers


@schemathesis.hook
def after_call(context, case, response):
    target = os.environ.get("ST_ANSWERS")
    if not target:
        return
    line = f"{case.method.upper()} {case.operation.path} {response.status_code}\n"
    with _lock, open(target, "a", encoding="utf-8") as f:
        f.write(line)
