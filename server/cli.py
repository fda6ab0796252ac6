"""The ``accord`` command line: serve, migrate, administer, verify."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from server.errors import AccordError, ConfigurationError, DomainError
from server.settings import Settings, load_settings

logger = logging.getLogger("accord")

Command = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if not args.no_migrate:
        _upgrade(args, settings)
    if args.workers > 1 and settings.database.is_sqlite and not settings.redis_url:
        raise ConfigurationError(
            "--workers > 1 needs ACCORD_REDIS_URL so that the workers share room "
            "state; set it, or run one worker"
        )
    print(f"Accord is serving on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # per-recipient zlib is the largest avoidable cost of a room broadcast
        # (notes/fanout.md) and a compression side channel; browsers cope
        ws_per_message_deflate=False,
        loop="auto",
        http="auto",
        ws="auto",
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
        log_level=args.log_level,
    )
    return 0


def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from server.migrate import upgrade

    upgrade(settings.database.url)
    print(f"database is up to date ({settings.database.url.split('://')[0]})")
    return 0


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from server.api.staff import UserCreate, create_user
    from server.app import build_services

    password = args.password or getpass.getpass("Password (10+ characters): ")
    body = UserCreate(
        email=args.email,
        name=args.name,
        password=password,
        role=args.role,
        language=args.language,
    )

    async def run() -> None:
        services = build_services(settings)
        try:
            user = await create_user(services, body)
            print(f"created {user.role} {user.email} (id {user.id})")
        finally:
            await services.db.dispose()

    asyncio.run(run())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``accord`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="accord", description="Accord online dispute resolution server"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not upgrade the database before starting",
    )
    serve.add_argument("--proxy-headers", action="store_true")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.set_defaults(handler=_serve)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(handler=_upgrade)

    admin = sub.add_parser("admin", help="administration")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create-user", help="create a staff account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument(
        "--role",
        required=True,
        choices=["admin", "case_officer", "mediator", "interpreter"],
    )
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--language", default="en", choices=["en", "zh-CN"])
    create.set_defaults(handler=_create_user)

    for register in extra_commands():
        register(sub)
    return parser


def extra_commands() -> list[Callable[[Any], None]]:
    """Subcommands contributed by other modules (casework, translation)."""
    from server import demo, translation_cli, verify

    return [verify.register, demo.register, translation_cli.register]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``accord`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        handler: Command = args.handler
        return handler(args, settings)
    except ConfigurationError as exc:
        print(f"accord: configuration error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"accord: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except AccordError as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
