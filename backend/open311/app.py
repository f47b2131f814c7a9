"""The GeoReport v2 WSGI application: routes, limits, API keys; each request one or two commands.

Endpoints (JSON only; ``.xml`` answers 400):

``GET /services.json``            the service list
``GET /services/{code}.json``     a service definition (404: our services have no attributes)
``POST /requests.json``           a new service request → ``report_issue``
``GET /requests.json``            service requests → ``list_requests``
``GET /requests/{id}.json``       one service request

Werkzeug parses and routes (form bodies with a size limit, multipart,
method checks); the server around it is separate (:mod:`backend.open311.cli`).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from backend.open311.bus import BusGateway
from backend.open311.mapping import (
    Open311Error,
    idempotency_key,
    parse_new_request,
    parse_query,
    request_id_or_none,
    service_notice,
    to_georeport,
)
from backend.open311.services import ServiceCatalogue

log = logging.getLogger(__name__)

#: The largest request body accepted (a report is a few hundred bytes of form fields).
MAX_BODY = 64 * 1024
#: The body types GeoReport clients send (HTML forms, curl -d / -F).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

URLS = Map(
    [
        Rule("/services.<fmt>", endpoint="services", methods=["GET"]),
        Rule("/services/<code>.<fmt>", endpoint="service_definition", methods=["GET"]),
        Rule("/requests.<fmt>", endpoint="requests", methods=["GET", "POST"]),
        Rule("/requests/<rid>.<fmt>", endpoint="request", methods=["GET"]),
    ],
    strict_slashes=False,
)


class LimitedRequest(Request):
    """A request whose body may be at most :data:`MAX_BODY` bytes, in memory."""

    max_content_length = MAX_BODY
    max_form_memory_size = MAX_BODY
    max_form_parts = 200


class Open311App:
    """The WSGI callable: ``Open311App(bus, catalogue, api_keys)``."""

    def __init__(
        self,
        bus: BusGateway,
        catalogue: ServiceCatalogue,
        api_keys: Iterable[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.bus = bus
        self.catalogue = catalogue
        self.api_keys = tuple(k for k in api_keys if k)
        self.clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = LimitedRequest(environ)
        return self.respond(request)(environ, start_response)

    def respond(self, request: Request) -> Response:
        """The response to one request; every failure in GeoReport's error format."""
        try:
            endpoint, matched = URLS.bind_to_environ(request.environ).match()
            values = dict(matched)
            fmt = values.pop("fmt")
            if fmt == "xml":
                raise Open311Error(400, "XML is not supported here; ask for .json")
            if fmt != "json":
                raise Open311Error(404, f"unknown format .{fmt}; this service speaks .json")
            body, status = getattr(self, f"_{endpoint}")(request, **values)
            return _json(body, status)
        except Open311Error as exc:
            return _json(exc.body(), exc.status)
        except RequestEntityTooLarge:
            return _json(Open311Error(400, f"request body over {MAX_BODY} bytes").body(), 400)
        except HTTPException as exc:
            status = exc.code or 500
            return _json(Open311Error(status, exc.description or exc.name).body(), status)
        except Exception:
            log.exception("open311: %s %s failed", request.method, request.path)
            return _json(Open311Error(500, "internal error").body(), 500)

    # -- endpoints ----------------------------------------------------------------------------

    def _services(self, request: Request) -> tuple[Any, int]:
        return [s.to_georeport() for s in self.catalogue.services()], 200

    def _service_definition(self, request: Request, code: str) -> tuple[Any, int]:
        if code not in self.catalogue.by_code(code):
            raise Open311Error(404, f"unknown service_code {code!r}")
        raise Open311Error(404, f"service {code!r} has no attributes (metadata is false)")

    def _requests(self, request: Request) -> tuple[Any, int]:
        if request.method == "POST":
            return self._create(request), 200
        args = parse_query(
            request.args.to_dict(),
            self.catalogue.by_code(request.args.get("service_code") or None),
            self.clock(),
        )
        result = self.bus.result("list_requests", args)
        return [to_georeport(r) for r in result["requests"]], 200

    def _request(self, request: Request, rid: str) -> tuple[Any, int]:
        issue_id = request_id_or_none(rid)
        found = self.bus.result("list_requests", {"ids": [issue_id]}) if issue_id else None
        if not found or not found["requests"]:
            raise Open311Error(404, f"no service request {rid!r}")
        return [to_georeport(found["requests"][0])], 200

    def _create(self, request: Request) -> list[dict[str, Any]]:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise Open311Error(400, f"request body over {MAX_BODY} bytes")
        if request.mimetype not in FORM_TYPES:
            raise Open311Error(
                400,
                f"send the fields as {' or '.join(FORM_TYPES)}"
                f" (got {request.mimetype or 'no Content-Type'})",
            )
        form = request.form.to_dict(flat=False)
        self._check_api_key(form.get("api_key"))
        codes = form.get("service_code") or [""]
        new = parse_new_request(form, self.catalogue.by_code(codes[-1].strip() or None))
        key = idempotency_key(new.args, request.headers.get("Idempotency-Key"), self.clock())
        result = self.bus.result("report_issue", new.args, key=key)
        return [
            {
                "service_request_id": str(result["issue_id"]),
                "service_notice": service_notice(new.contact),
                "account_id": None,
            }
        ]

    def _check_api_key(self, given: list[str] | None) -> None:
        if not self.api_keys:
            return
        key = (given or [""])[-1]
        if not key:
            raise Open311Error(403, "api_key is required")
        if not any(hmac.compare_digest(key.encode(), k.encode()) for k in self.api_keys):
            raise Open311Error(403, "api_key is not valid")


def _json(body: Any, status: int) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )
