"""Stateful fakes of Karaden and AOS, answering as their OpenAPI documents say (for
``ScriptedServer``). ``script`` holds replies to give instead, first in first out, per
operation (``"send"``, ``"list"``, ``"detail"``, ``"status"``, ``"reservation"``); a reply
with ``record=True`` is given *after* the fake processed the request (an accepted message whose
answer is lost or delayed).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from scripted import Reply, Seen

TENANT = "6f1c2a3e-4b5d-4e6f-8a7b-9c0d1e2f3a4b"
SERVICE = "17"
AOS_TOKEN = "kT3xW9pQ2vL8mN4rZ7yB1cD5fG6hJ0aS"  # 32 characters, as the spec requires
AOS_CLIENT = "12345"
AOS_SMS_CODE = "54321"


@dataclass
class Scripted:
    reply: Reply
    record: bool = False  # process the request as usual, then answer with ``reply``


class _Fake:
    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.script: dict[str, deque[Scripted]] = defaultdict(deque)
        self.lock = threading.Lock()

    def then(self, operation: str, reply: Reply, *, record: bool = False) -> None:
        self.script[operation].append(Scripted(reply, record))

    def _scripted(self, operation: str) -> Scripted | None:
        with self.lock:
            queue = self.script.get(operation)
            return queue.popleft() if queue else None

    def __call__(self, seen: Seen) -> Reply:
        if self.latency_s:
            time.sleep(self.latency_s)
        operation = self.operation(seen)
        scripted = self._scripted(operation)
        if scripted is not None and not scripted.record:
            return scripted.reply
        reply = self.answer(operation, seen)
        return scripted.reply if scripted is not None else reply

    def operation(self, seen: Seen) -> str:
        raise NotImplementedError

    def answer(self, operation: str, seen: Seen) -> Reply:
        raise NotImplementedError


def karaden_error(code: str, message: str, errors: dict[str, list[str]] | None = None) -> Any:
    return {"object": "error", "code": code, "message": message, "errors": errors}


class KaradenFake(_Fake):
    """Messages by id; send, list (``tag``), detail."""

    def __init__(self, latency_s: float = 0.0) -> None:
        super().__init__(latency_s)
        self.messages: dict[str, dict[str, Any]] = {}

    def operation(self, seen: Seen) -> str:
        if seen.method == "POST":
            return "send"
        return "list" if seen.path.endswith("/messages") else "detail"

    def answer(self, operation: str, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != "Bearer karaden-token":
            return Reply(401, karaden_error("unauthentication", "認証に失敗しました"))
        if operation == "send":
            return Reply(200, self._create(seen))
        if operation == "list":
            tag = seen.field("tag")
            with self.lock:
                data = [m for m in self.messages.values() if tag is None or tag in m["tags"]]
            return Reply(200, {"object": "list", "has_more": False, "data": data})
        found = self.messages.get(seen.path.rsplit("/", 1)[1])
        if found is None:
            return Reply(404, karaden_error("model_not_found", "見つかりません"))
        return Reply(200, found)

    def _create(self, seen: Seen) -> dict[str, Any]:
        scheduled = seen.field("scheduled_at")
        message = {
            "id": str(uuid.uuid4()),
            "object": "message",
            "service_id": int(seen.field("service_id") or 0),
            "billing_address_id": 1,
            "to": seen.field("to"),
            "body": seen.field("body"),
            "tags": [v for k, v in seen.form if k == "tags[]"],
            "is_shorten": False,
            "is_shorten_clicked": False,
            "result": "processing",
            "status": "waiting",
            "sent_result": "none",
            "carrier": "checking",
            "charged_count_per_sent": 1,
            "created_at": "2026-11-27T10:00:00+09:00",
            "updated_at": "2026-11-27T10:00:00+09:00",
        }
        if scheduled:
            message["scheduled_at"] = scheduled
        with self.lock:
            self.messages[message["id"]] = message
        return message

    def set_delivery(
        self, message_id: str, status: str, sent_result: str, charged: int = 1
    ) -> None:
        with self.lock:
            self.messages[message_id].update(
                status=status,
                sent_result=sent_result,
                result="done",
                charged_count_per_sent=charged,
            )


def aos(code: int, message: str, phone: str = "+819012340000", text: str = "x") -> Any:
    return {
        "responseCode": code,
        "responseMessage": message,
        "phoneNumber": phone,
        "smsMessage": text,
    }


class AosFake(_Fake):
    """Messages by clientTag; mt (a repeated clientTag is refused), status, checkreservation."""

    def __init__(self, latency_s: float = 0.0, quota: int | None = None) -> None:
        super().__init__(latency_s)
        self.messages: dict[str, dict[str, Any]] = {}
        self.quota = quota

    def operation(self, seen: Seen) -> str:
        return {
            "/p5/api/mt.json": "send",
            "/p5/api/status.json": "status",
            "/p5/api/checkreservation.json": "reservation",
        }.get(seen.path, "other")

    def answer(self, operation: str, seen: Seen) -> Reply:
        if seen.field("token") != AOS_TOKEN:
            return Reply(200, aos(110, "Invalid token."))
        if operation == "send":
            return Reply(200, self._send(seen))
        if operation == "status":
            tag, date = seen.field("clientTag"), seen.field("date")
            with self.lock:
                items = [
                    self._status_item(t, m)
                    for t, m in self.messages.items()
                    if not m["scheduleTime"] and (t == tag if tag else m["date"] == date)
                ]
            return Reply(200, {"responseCode": 0, "responseMessage": "Success.", "status": items})
        if operation == "reservation":
            found = self.messages.get(seen.field("clientTag") or "")
            items = (
                []
                if found is None or not found["scheduleTime"]
                else [
                    {
                        "scheduleTime": found["scheduleTime"],
                        "phoneNumber": found["phone"],
                        "message": found["message"],
                        "smsCode": int(AOS_SMS_CODE),
                        "clientTag": seen.field("clientTag"),
                    }
                ]
            )
            return Reply(
                200,
                {
                    "responseCode": 0,
                    "responseMessage": "Success.",
                    "count": len(items),
                    "status": items,
                },
            )
        return Reply(404, None)

    def _send(self, seen: Seen) -> Any:
        phone = "+81" + (seen.field("phoneNumber") or "0")[1:]
        text = seen.field("message") or ""
        tag = seen.field("clientTag") or ""
        with self.lock:
            if tag in self.messages:
                return aos(400, "Duplicate client tag.", phone, text)
            if self.quota is not None and len(self.messages) >= self.quota:
                return aos(300, "Exceed sending count.", phone, text)
            self.messages[tag] = {
                "phone": phone,
                "message": text,
                "scheduleTime": seen.field("scheduleTime"),
                "date": "20261127",
                "statusId": "1",
                "detailed": "",
            }
        return aos(0, "Success.", phone, text)

    @staticmethod
    def _status_item(tag: str, m: dict[str, Any]) -> dict[str, Any]:
        return {
            "dateTime": "20261127 100000000",
            "phoneNumber": m["phone"],
            "message": m["message"],
            "smsCode": int(AOS_SMS_CODE),
            "carrierId": "103",
            "carrierName": "DOCOMO",
            "statusId": m["statusId"],
            "clientTag": tag,
            "detailedStatusId": m["detailed"],
            "separatedSuccessCount": m.get("billed", 1),
        }

    def set_status(self, tag: str, status_id: str, detailed: str = "", billed: int = 1) -> None:
        with self.lock:
            self.messages[tag].update(statusId=status_id, detailed=detailed, billed=billed)


class TwilioCreateFake(_Fake):
    """Twilio's Messages create only (``POST …/Messages.json`` → 201 with a ``sid``), for the
    throughput benchmark; the behaviour tests use ``tests/twilio_stub.py``."""

    def operation(self, seen: Seen) -> str:
        return "send" if seen.method == "POST" and seen.path.endswith("/Messages.json") else "other"

    def answer(self, operation: str, seen: Seen) -> Reply:
        if operation != "send":
            return Reply(404, {"code": 20404, "message": "Not Found", "status": 404})
        sid = "SM" + uuid.uuid4().hex
        return Reply(201, {"sid": sid, "status": "queued", "to": seen.field("To")})
