"""The app factory: health, readiness, headers, errors and the OpenAPI file."""

from __future__ import annotations

import httpx
from starlette.routing import Mount, Route

from server.api.openapi import iter_specs
from tests.conftest import RunningApp


async def test_healthz_and_readyz_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_readyz_reports_an_unreachable_database(app: RunningApp) -> None:
    await app.services.db.engine.dispose()
    app.services.db.engine.url  # noqa: B018 - the engine stays configured
    # point the pool at a database that cannot be opened
    from server.db import Database
    from server.settings import DatabaseSettings

    app.services.db = Database.from_settings(
        DatabaseSettings(url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    )
    async with app.client() as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unreachable"


async def test_every_page_carries_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_unknown_route_gets_a_json_error_code(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/no/such/thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_openapi_lists_exactly_the_declared_api_routes(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    document = (await client.get("/openapi.json")).json()
    published = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }

    def walk(routes: list, prefix: str = "") -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for route in routes:
            if isinstance(route, Mount) and prefix + route.path == "/api":
                found |= walk(route.routes, prefix + route.path)
            elif isinstance(route, Route) and prefix.startswith("/api"):
                for method in route.methods or ():
                    if method != "HEAD":
                        path = "/".join(
                            p.split(":")[0] + ("}" if ":" in p else "")
                            for p in (prefix + route.path).split("/")
                        )
                        found.add((path, method))
        return found

    actual = walk(app.starlette.routes)
    assert actual, "the app declares no API routes"
    assert published == actual
    # every API route is declared through endpoint(), so it has a permission
    assert len(iter_specs(app.starlette.routes)) == len(actual)


async def test_state_change_from_a_foreign_origin_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/auth/login",
        json={"email": "a@example.org", "password": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"


async def test_home_page_speaks_chinese_when_asked(client: httpx.AsyncClient) -> None:
    response = await client.get("/?lang=zh-CN")
    assert "在线解决您的纠纷" in response.text
    assert response.cookies.get("accord_lang") == "zh-CN"
    # the choice sticks for this browser, whatever it says it prefers
    again = await client.get("/", headers={"Accept-Language": "en-GB,en"})
    assert "在线解决您的纠纷" in again.text
    client.cookies.clear()
    english = await client.get("/", headers={"Accept-Language": "en-GB,en"})
    assert "Resolve your dispute online" in english.text
