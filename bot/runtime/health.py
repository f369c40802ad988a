"""What `/healthz` reports: the database, the outbox backlog, the updates handled, the workers (the updates and
the workers as bot/runtime/activity.py counts them)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.delivery import outbox

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.health")
# A pending outbox row due longer than this means the outbox is not sending.
OUTBOX_STUCK_SECONDS = 300


async def snapshot(services: "Services") -> tuple[bool, dict[str, Any]]:
    """(healthy, the JSON body) of `/healthz`."""
    activity = services.activity
    problems: list[str] = []
    body: dict[str, Any] = {"mode": activity.mode or None}
    try:
        await services.db.fetchone("SELECT 1")
        body["database"] = {"reachable": True}
    except Exception as exc:
        body["database"] = {"reachable": False, "error": type(exc).__name__}
        problems.append("database is not reachable")
    if body["database"]["reachable"]:
        try:
            due = (datetime.now(timezone.utc) - timedelta(seconds=OUTBOX_STUCK_SECONDS)).isoformat(timespec="seconds")
            body["outbox"] = backlog = await outbox.backlog(services.db, due)
            if backlog["overdue"]:
                problems.append(f"{backlog['overdue']} outbox message(s) overdue by more than {OUTBOX_STUCK_SECONDS} s")
        except Exception as exc:
            body["outbox"] = {"error": type(exc).__name__}
            problems.append("outbox could not be read")
    now = datetime.now(timezone.utc)
    last = activity.last_update_at
    body["updates"] = {
        "handled": activity.handled,
        "in_flight": activity.in_flight,
        "last_at": last.isoformat(timespec="seconds") if last else None,
        "seconds_since_last": round((now - last).total_seconds(), 1) if last else None,
    }
    body["started_at"] = activity.started_at.isoformat(timespec="seconds")
    dead = [task.get_name() for task in activity.workers if task.done()]
    body["workers"] = {task.get_name(): not task.done() for task in activity.workers}
    if dead:
        problems.append("stopped worker(s): " + ", ".join(dead))
    if activity.stopping:
        problems.append("shutting down")
    body["status"] = "ok" if not problems else "problem"
    body["problems"] = problems
    return not problems, body


def health_handler(services: "Services"):
    async def healthz(request: web.Request) -> web.Response:
        healthy, body = await snapshot(services)
        return web.json_response(body, status=200 if healthy else 503)

    return healthz


def health_app(services: "Services") -> web.Application:
    """The small server of polling mode: only `/healthz`."""
    app = web.Application()
    app.router.add_get("/healthz", health_handler(services))
    return app


async def serve_health(services: "Services") -> web.AppRunner:
    """Serve `/healthz` on HEALTH_HOST:HEALTH_PORT (polling mode); the caller cleans the runner up."""
    settings = services.settings
    runner = web.AppRunner(health_app(services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.health_host, settings.health_port).start()
    log.info("health: http://%s:%s/healthz", settings.health_host, settings.health_port)
    return runner
