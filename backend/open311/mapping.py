"""Open311 GeoReport v2 fields ↔ the command schema: pure functions, no HTTP, no sockets.

Everything a citizen sends is checked here, before anything reaches the bus:
a request refused here (:class:`Open311Error`) has written nothing. The
names follow GeoReport v2 (``service_code``, ``lat``/``long``,
``address_string``, ``attribute[...]``, ``requested_datetime``...).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

#: GeoReport v2: a query without dates covers the last 90 days, and answers at most 1,000.
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
#: Field limits (GeoReport: description up to 4,000 characters; the rest our columns').
LIMITS = {
    "description": 4000,
    "address_string": 300,
    "email": 200,
    "phone": 40,
    "first_name": 100,
    "last_name": 100,
    "media_url": 1000,
    "device_id": 200,
    "account_id": 200,
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
_SLUG = re.compile(r"[^a-z0-9]+")


class Open311Error(Exception):
    """A request refused with an HTTP status and GeoReport's error ``description``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def body(self) -> list[dict[str, Any]]:
        """GeoReport's error format: ``[{"code": status, "description": ...}]``."""
        return [{"code": self.status, "description": self.description}]


# -- services ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Service:
    """One GeoReport service: what a citizen can report, and the job a report of it makes.

    ``priority`` and ``skills`` come from configuration; a service seen only in
    the data has none, and its reports wait for a dispatcher to make a job.
    """

    code: str
    name: str
    description: str = ""
    group: str = ""
    keywords: tuple[str, ...] = ()
    priority: int | None = None
    skills: tuple[str, ...] = ()

    def to_georeport(self) -> dict[str, Any]:
        """The service as GeoReport's ``services.json`` lists it."""
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.description or self.name,
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join(self.keywords),
            "group": self.group,
        }


def slug(text: str) -> str:
    """A code for a category that has none (``"Street Light Out"`` → ``street_light_out``)."""
    return _SLUG.sub("_", text.lower()).strip("_")[:80] or "other"


def services_from_config(items: Sequence[Mapping[str, Any]]) -> list[Service]:
    """Services from configuration (a JSON list); a malformed entry is a ValueError naming it."""
    services: list[Service] = []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValueError(f"service {n}: expected an object")
        code, name = item.get("service_code"), item.get("service_name")
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            raise ValueError(f"service {n}: service_code and service_name are required text")
        priority = item.get("priority")
        if priority is not None and (type(priority) is not int or not 1 <= priority <= 5):
            raise ValueError(f"service {code}: priority must be 1..5")
        services.append(
            Service(
                code=code,
                name=name,
                description=str(item.get("description") or ""),
                group=str(item.get("group") or ""),
                keywords=tuple(str(k) for k in item.get("keywords") or ()),
                priority=priority,
                skills=tuple(str(s) for s in item.get("skills") or ()),
            )
        )
    return services


def merge_services(
    configured: Sequence[Service], seen: Sequence[Mapping[str, Any]]
) -> list[Service]:
    """The configured services, then those only the data uses (``list_services`` rows).

    A row without a code gets its category's :func:`slug`; a code (or a
    code-less category) already listed is not listed twice.
    """
    services = list(configured)
    codes = {s.code for s in services}
    names = {s.name for s in services}
    for row in seen:
        category = str(row.get("category") or "")
        code = row.get("service_code") or slug(category)
        if code in codes or (not row.get("service_code") and category in names):
            continue
        codes.add(code)
        names.add(category)
        services.append(Service(code=code, name=category, group=str(row.get("agency") or "")))
    return services


# -- times ------------------------------------------------------------------------------------


def parse_time(value: str, name: str) -> datetime:
    """A W3C / ISO 8601 time (``2026-03-01T08:00:00Z``, with an offset, or a date) in UTC.

    A time without an offset is read as UTC; a date alone is its midnight, UTC.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} {value!r} is not a W3C date-time (e.g. 2026-03-01T08:00:00Z)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """A time as GeoReport writes it: W3C with seconds and an offset (UTC)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds")


# -- POST /requests ---------------------------------------------------------------------------


@dataclass(slots=True)
class NewRequest:
    """A checked POST: the ``report_issue`` arguments and what the reply should say."""

    args: dict[str, Any]
    contact: str  # email, sms or web: how the citizen will hear back
    answers: dict[str, Any] = field(default_factory=dict)


def _one(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name)
    if not values:
        return None
    value = values[-1].strip()
    if not value:
        return None
    limit = LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return value


def _coordinate(form: Mapping[str, Sequence[str]], name: str, bound: float) -> float | None:
    text = _one(form, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise Open311Error(400, f"{name} {text} is out of range (-{bound:g}..{bound:g})")
    return value


def parse_new_request(
    form: Mapping[str, Sequence[str]], services: Mapping[str, Service]
) -> NewRequest:
    """A POST's form fields (name → values) as ``report_issue`` arguments, or Open311Error."""
    code = _one(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code is required (see GET /services.json)")
    service = services.get(code)
    if service is None:
        raise Open311Error(400, f"unknown service_code {code!r} (see GET /services.json)")
    lat = _coordinate(form, "lat", 90.0)
    lon = _coordinate(form, "long", 180.0)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long must be given together")
    address = _one(form, "address_string")
    if lat is None and address is None:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    if lat == 0.0 and lon == 0.0:
        raise Open311Error(400, "lat 0, long 0 is not a place in the city")
    email = _one(form, "email")
    if email is not None and not _EMAIL.match(email):
        raise Open311Error(400, f"email {email!r} is not an e-mail address")
    phone = _one(form, "phone")
    names = [n for n in (_one(form, "first_name"), _one(form, "last_name")) if n]
    media_url = _one(form, "media_url")
    if media_url is not None and not media_url.lower().startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http(s) URL")
    answers = _answers(form)
    args: dict[str, Any] = {
        "category": service.name,
        "service_code": service.code,
        "description": _one(form, "description"),
        "lon": lon,
        "lat": lat,
        "address": address,
        "agency": service.group or None,
        "channel": "open311",
        "media_url": media_url,
        "attributes": answers or None,
    }
    if email or phone or names:
        args["citizen"] = {"name": " ".join(names) or None, "email": email, "phone": phone}
    if service.priority is not None:
        args["job"] = {
            "title": f"{service.name}: {address or f'{lat:.5f}, {lon:.5f}'}",
            "priority": service.priority,
            "skills": list(service.skills),
        }
    contact = "email" if email else "sms" if phone else "web"
    return NewRequest({k: v for k, v in args.items() if v is not None}, contact, answers)


def _answers(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for key, values in form.items():
        m = _ATTRIBUTE.match(key)
        if m is None:
            continue
        kept = [v.strip()[:1000] for v in values if v.strip()]
        if not kept:
            continue
        answers[m.group(1)] = kept if m.group(2) else kept[-1]
    if len(answers) > 50:
        raise Open311Error(400, "at most 50 attribute[...] fields")
    return answers


def service_notice(contact: str) -> str:
    """What the POST reply tells the citizen about hearing back."""
    how = {
        "email": "by e-mail",
        "sms": "by text message",
        "web": "here (GET /requests/{id}.json)",
    }[contact]
    return f"Thank you. We will tell you {how} when it is fixed."


def idempotency_key(args: Mapping[str, Any], token: str | None, now: datetime) -> str:
    """The command key of a POST: the client's token, else a hash of what was sent that day.

    A client that sends ``Idempotency-Key`` gets exactly-once per token; one
    that does not gets its identical resubmissions of the same UTC day (a
    double tap, a retry after a lost reply) answered with the first request.
    """
    if token:
        digest = hashlib.sha256(token.encode()).hexdigest()[:48]
        return f"open311:t:{digest}"
    canonical = json.dumps(args, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{now.astimezone(UTC).date()}\n{canonical}".encode()).hexdigest()
    return f"open311:h:{digest[:48]}"


# -- GET /requests ----------------------------------------------------------------------------


def parse_query(
    params: Mapping[str, str], services: Mapping[str, Service], now: datetime
) -> dict[str, Any]:
    """A GET /requests query as ``list_requests`` arguments, or Open311Error.

    ``service_request_id`` (comma-separated) overrides every other filter, as
    GeoReport says. Without dates the last 90 days are searched; with only an
    end date, the 90 days before it.
    """
    ids_text = (params.get("service_request_id") or "").strip()
    if ids_text:
        ids = [_request_id(part) for part in ids_text.split(",") if part.strip()]
        if len(ids) > MAX_RESULTS:
            raise Open311Error(400, f"at most {MAX_RESULTS} service_request_id values")
        return {"ids": ids}
    args: dict[str, Any] = {"limit": MAX_RESULTS}
    code = (params.get("service_code") or "").strip()
    if code:
        args["service_code"] = code
        service = services.get(code)
        if service is not None:
            args["category"] = service.name
    start_text, end_text = params.get("start_date"), params.get("end_date")
    start = parse_time(start_text, "start_date") if start_text else None
    end = parse_time(end_text, "end_date") if end_text else None
    if start is not None and end is not None and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if start is None:
        start = (end or now) - DEFAULT_WINDOW
    args["start"] = start
    if end is not None:
        args["end"] = end
    statuses = {s.strip().lower() for s in (params.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed or open,closed")
    if len(statuses) == 1:
        args["status"] = statuses.pop()
    return args


def _request_id(text: str) -> int:
    text = text.strip()
    if not text.isdigit() or len(text) > 18:
        raise Open311Error(400, f"service_request_id {text!r} is not a request id")
    return int(text)


def request_id_or_none(text: str) -> int | None:
    """A path's request id, or None when it cannot be one (then: 404)."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


def to_georeport(request: Mapping[str, Any]) -> dict[str, Any]:
    """A ``list_requests`` row as a GeoReport v2 service request."""
    code = request.get("service_code") or slug(str(request.get("category") or ""))
    return {
        "service_request_id": str(request["id"]),
        "status": "closed" if request.get("status") == "closed" else "open",
        "status_notes": request.get("status_notes"),
        "service_name": request.get("category"),
        "service_code": code,
        "description": request.get("description"),
        "agency_responsible": request.get("agency"),
        "service_notice": None,
        "requested_datetime": format_time(request.get("requested_at")),
        "updated_datetime": format_time(request.get("updated_at")),
        "expected_datetime": format_time(request.get("expected_at")),
        "address": request.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": request.get("lat"),
        "long": request.get("lon"),
        "media_url": request.get("media_url"),
    }
