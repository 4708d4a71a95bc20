"""`hingewatch dashboard [serve]` and `hingewatch dashboard adduser`: `add_parser(sub)` adds
them to the main command line (edge/cli.py calls it); `python -m dashboard` runs them alone.
Bad input ends with one line on stderr and exit code 2. Importing this module needs only the
standard library, so an edge-only install (without the dashboard extra) keeps its CLI."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dashboard.config import DEFAULT_CONFIG, load_settings
from dashboard.errors import DashboardError
from dashboard.settings import ROLES, Settings, default_db_path, system_timezone

EXIT_BAD_INPUT = 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds `dashboard` (same as `dashboard serve`), `dashboard serve` and
    `dashboard adduser` to the main command line's subparsers."""
    about = ("Collects every device's events from the MQTT broker into SQLite and serves "
             "the dashboard (Today, Week, Events, Report, Devices, Health) and its JSON "
             "API. Settings come from the [dashboard] and [dashboard.mqtt] tables of the "
             "config file, then these options.")
    p = sub.add_parser("dashboard", help="collect events from MQTT and serve the web dashboard",
                       description=about + " Without a command it serves.")
    _serve_options(p)
    p.set_defaults(func=run_dashboard)
    dsub = p.add_subparsers(dest="dashboard_command", metavar="{serve,ingest,adduser}")
    s = dsub.add_parser("serve", help="serve the dashboard (the default)", description=about)
    _serve_options(s)
    s.add_argument("--no-ingest", action="store_true",
                   help="serve only; `hingewatch dashboard ingest` processes collect")
    s.set_defaults(func=run_dashboard)
    i = dsub.add_parser(
        "ingest", help="collect events from MQTT into the store, without the web server",
        description="Collects every device's events from the broker into the store, and "
                    "serves nothing. Several of them (on one machine or many) share the "
                    "events when [dashboard.mqtt] share_group is set, each with its own "
                    "--client-id.")
    _ingest_options(i)
    i.set_defaults(func=run_ingest)
    a = dsub.add_parser("adduser", help="add a dashboard account (or --replace its password)",
                        description="Adds an account. The password is asked for twice, or "
                                    "read from standard input with --password-stdin.")
    _where(a)
    a.add_argument("name", help="user name: letters, digits, _ . @ -")
    a.add_argument("--role", choices=ROLES, default="viewer",
                   help="viewer: sees everything; reviewer: may also relabel (default viewer)")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    a.add_argument("--replace", action="store_true",
                   help="set a new password and role for an existing user (ends their sessions)")
    a.add_argument("--household", action="append", dest="households", metavar="NAME",
                   help="a household the new account sees (repeatable; default: home, "
                        "the one household of a home dashboard)")
    a.set_defaults(func=run_adduser)
    g = dsub.add_parser("grant", help="let an account see a household",
                        description="Lets USER see HOUSEHOLD: its devices, their events, "
                                    "summaries and reports, in every page and the API.")
    _where(g)
    g.add_argument("user")
    g.add_argument("household")
    g.set_defaults(func=run_grant)
    h = dsub.add_parser("household", help="put devices in a household",
                        description="Households group devices (a home's); an account sees "
                                    "the households it was granted. A device in none is in "
                                    "'home'.")
    hsub = h.add_subparsers(dest="household_command", required=True, metavar="{add}")
    ha = hsub.add_parser("add", help="make a household (if new) and move devices into it")
    _where(ha)
    ha.add_argument("name", help="household name: letters, digits, _ . @ -")
    ha.add_argument("devices", nargs="*", metavar="DEVICE", help="device ids to move into it")
    ha.set_defaults(func=run_household_add)
    x = dsub.add_parser("export-reviews",
                        help="write the reviewed bends for `hingewatch eval --reviews`",
                        description="Writes every reviewed bend (the device's verdict and "
                                    "readings, its skeleton trace, the reviewer's label; no "
                                    "pixels) as JSON Lines (hingewatch.review/1).")
    _where(x)
    x.add_argument("out", type=Path, help="the file to write ('-': standard output)")
    x.add_argument("--device", help="only this device's bends")
    x.set_defaults(func=run_export_reviews)
    dsub.metavar = "{serve,ingest,adduser,grant,household,export-reviews}"
    return p


# Options are SUPPRESSed when absent, so `dashboard --port 1 serve` and `dashboard serve
# --port 1` both work and an absent option never hides the config file's value.
_ABSENT = argparse.SUPPRESS


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=_ABSENT,
                   help=f"the TOML config file (default {DEFAULT_CONFIG} when it exists)")
    p.add_argument("--db", type=Path, default=_ABSENT, dest="db_path",
                   help=f"the dashboard's SQLite file (default {default_db_path()})")
    p.add_argument("--db-url", default=_ABSENT, dest="db_url",
                   help="a PostgreSQL store instead of the file: postgresql://user@host/db")


def _serve_options(p: argparse.ArgumentParser) -> None:
    d = Settings()
    p.add_argument("--host", default=_ABSENT, dest="http_host",
                   help=f"address to serve on (default {d.http_host}: this machine only)")
    p.add_argument("--port", type=int, default=_ABSENT, dest="http_port",
                   help=f"default {d.http_port}")
    _ingest_options(p)
    p.add_argument("--allow-localhost", action="store_const", const=True, default=_ABSENT,
                   help="let requests from 127.0.0.1 in without a login, as a reviewer "
                        "(not behind a reverse proxy on the same machine)")
    p.add_argument("--secure-cookies", action="store_const", const=True, default=_ABSENT,
                   help="send the session cookie over HTTPS only (behind a TLS proxy)")
    p.add_argument("--streak-goal", type=float, default=_ABSENT,
                   help=f"hinge share a day needs to count towards a streak "
                        f"(default {d.streak_goal})")
    p.add_argument("--demo-user", action="store_true", default=_ABSENT,
                   help="create or reset the reviewer 'demo' with a new random password, "
                        "and print it with the URL")


def _ingest_options(p: argparse.ArgumentParser) -> None:
    d = Settings()
    _where(p)
    p.add_argument("--mqtt-host", default=_ABSENT, help=f"broker (default {d.mqtt.host})")
    p.add_argument("--mqtt-port", type=int, default=_ABSENT, help=f"default {d.mqtt.port}")
    p.add_argument("--mqtt-username", default=_ABSENT)
    p.add_argument("--mqtt-protocol", choices=("auto", "5", "3.1.1"), default=_ABSENT,
                   help="MQTT version (default auto: 5, or 3.1.1 when the broker refuses 5)")
    p.add_argument("--mqtt-password-file", type=Path, default=_ABSENT,
                   help="a file holding only the broker password")
    p.add_argument("--client-id", default=_ABSENT, dest="mqtt_client_id",
                   help="MQTT client id; the broker keeps our session (and queued events) "
                        f"under it (default {d.mqtt.client_id})")
    p.add_argument("--timezone", default=_ABSENT,
                   help=f"IANA zone days are counted in (default: this machine's, "
                        f"{system_timezone()})")
    p.add_argument("--share-group", default=_ABSENT, dest="mqtt_share_group",
                   help="share the events with the other ingest processes of this group "
                        "(an MQTT shared subscription); default: take them all")


_SETTING_OPTIONS = (
    "db_path", "db_url", "http_host", "http_port", "mqtt_host", "mqtt_port", "mqtt_username",
    "mqtt_protocol",
    "mqtt_password_file", "mqtt_client_id", "mqtt_share_group", "allow_localhost", "timezone",
    "secure_cookies", "streak_goal",
)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {k: getattr(args, k) for k in _SETTING_OPTIONS if hasattr(args, k)}
    return load_settings(getattr(args, "config", None), **overrides)


def run_dashboard(args: argparse.Namespace) -> int:
    from dashboard.web.server import run  # uvicorn and the web app load only for this verb

    return _guarded(lambda: run(settings_from(args),
                                demo_user=getattr(args, "demo_user", False),
                                ingest=not getattr(args, "no_ingest", False)))


def run_ingest(args: argparse.Namespace) -> int:
    from dashboard.ingest.alone import run  # no web server: uvicorn never loads

    return _guarded(lambda: run(settings_from(args)))


def run_adduser(args: argparse.Namespace) -> int:
    from dashboard.store.dialect import shown
    from dashboard.store.writer import Writer
    from dashboard.web import auth
    from edge.events import now_ms

    def add() -> int:
        settings = settings_from(args)
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"password for {args.name}: ")
            if getpass.getpass("again: ") != password:
                raise DashboardError("the two passwords differ")
        auth.check_new_user(args.name, password, args.role)
        with Writer(settings.store) as writer:  # no zone: adding a user never re-dates events
            writer.add_user(args.name, auth.hash_password(password), args.role, now_ms(),
                            replace=args.replace, households=args.households or ("home",))
        print(f"{'updated' if args.replace else 'added'} {args.role} {args.name} "
              f"in {shown(settings.store)}")
        return 0

    return _guarded(add)


def run_grant(args: argparse.Namespace) -> int:
    from dashboard.store.dialect import shown
    from dashboard.store.writer import Writer

    def grant() -> int:
        settings = settings_from(args)
        with Writer(settings.store) as writer:
            writer.grant(args.user, args.household)
        print(f"{args.user} sees household {args.household} in {shown(settings.store)}")
        return 0

    return _guarded(grant)


def run_household_add(args: argparse.Namespace) -> int:
    from dashboard.errors import UserError
    from dashboard.store.writer import Writer
    from dashboard.web import auth
    from edge.delivery.topics import check_device_id
    from edge.events import now_ms

    def add() -> int:
        if not auth.USERNAME.fullmatch(args.name):
            raise UserError(f"household: expected 1-64 letters, digits, '_', '.', '@' or '-', "
                            f"got {args.name!r}")
        for device in args.devices:
            try:
                check_device_id(device)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        settings = settings_from(args)
        with Writer(settings.store) as writer:
            writer.put_devices(args.name, args.devices, now_ms())
        print(f"household {args.name}: {', '.join(args.devices) or 'no device moved'}")
        return 0

    return _guarded(add)


def run_export_reviews(args: argparse.Namespace) -> int:
    def export() -> int:
        from dashboard.store.dialect import is_postgres
        from dashboard.store.reader import Reader
        from dashboard.store.review_export import export_lines

        settings = settings_from(args)
        # A missing SQLite file is a mistake, not an empty store; a server is the server's.
        if not is_postgres(settings.store) and not Path(settings.store).is_file():
            raise DashboardError(f"{settings.store}: no dashboard database there (--db)")
        reader = Reader(settings.store)
        try:
            lines = export_lines(reader, args.device)
            if str(args.out) == "-":
                n = sum(sys.stdout.write(line) > 0 for line in lines)
            else:
                part = Path(f"{args.out}.part")
                try:
                    with part.open("w") as fh:
                        n = sum(fh.write(line) > 0 for line in lines)
                    part.replace(args.out)  # whole or not at all
                except OSError as exc:
                    raise DashboardError(f"cannot write {args.out}: {exc.strerror or exc}"
                                         ) from exc
        finally:
            reader.close()
        print(f"{n} reviewed bends written to {args.out}", file=sys.stderr)
        return 0

    return _guarded(export)


def _guarded(action: Callable[[], int]) -> int:
    try:
        return int(action())
    except DashboardError as exc:
        print(f"hingewatch: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hingewatch")
    add_parser(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
