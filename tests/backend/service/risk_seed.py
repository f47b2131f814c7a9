"""A small scored network for risk tests: water mains and pumps with failure histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.db.models import Asset, AssetEvent
from backend.protocol.client import CommandFailed
from backend.service.processor import CommandProcessor

#: The "now" the seeded network is scored at.
SCORED_AT = datetime(2025, 6, 1, tzinfo=UTC)


def pipe_city(engine: Engine, n: int = 120, seed: int = 3) -> None:
    """Water mains and pumps with failure histories (frail mains break more), for scoring."""
    rng = np.random.default_rng(seed)
    end = datetime(2025, 1, 1, tzinfo=UTC)
    with Session(engine) as s, s.begin():
        for i in range(n):
            kind = "water_main" if i % 4 else "pump"
            material = "cast_iron" if rng.random() < 0.4 else "pvc"
            asset = Asset(
                kind=kind,
                name=f"{kind} {i}",
                source="pipes",
                source_id=str(i),
                lon=10.0 + i / 1000,
                lat=53.0,
                install_date=(end - timedelta(days=int(rng.uniform(15, 60) * 365))).date(),
                attributes={"material": material, "length_m": float(rng.uniform(20, 300))},
            )
            s.add(asset)
            s.flush()
            rate = (0.25 if material == "cast_iron" else 0.04) * (3 if kind == "pump" else 1)
            t = end - timedelta(days=15 * 365)
            k = 0
            while True:
                t += timedelta(days=float(rng.exponential(365 / rate)))
                if t >= end:
                    break
                k += 1
                s.add(
                    AssetEvent(
                        asset_id=asset.id,
                        kind="failure",
                        ts=t,
                        source="pipes",
                        source_id=f"{i}/f/{k}",
                    )
                )
                s.add(
                    AssetEvent(
                        asset_id=asset.id,
                        kind="repair",
                        ts=t + timedelta(days=1),
                        source="pipes",
                        source_id=f"{i}/r/{k}",
                    )
                )


def processor_send(processor: CommandProcessor, user: str = "olga") -> Any:
    """A console ``send_command`` that runs commands on a real processor (no sockets)."""
    counter = iter(range(1, 1_000_000))

    def send(name: str, args: dict[str, Any]) -> dict[str, Any]:
        body = {"name": name, "user": user, "key": f"k{next(counter)}", "args": args}
        out = processor.execute(body, msg_id="m")
        if not out.ok:
            raise CommandFailed(
                str(out.body["code"]), str(out.body["message"]), out.body["details"]
            )
        return out.body

    return send
