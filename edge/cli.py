"""`hingewatch`: one console script, one verb per job. Bad input: one line, exit code 2."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

# FFmpeg inside OpenCV prints its own lines for a broken file ("moov atom not found");
# our error says it once, in words. Set before cv2 is first imported.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
# A picture's header may claim any size; OpenCV refuses past this many pixels (134 MP: more
# than any camera here, and 400 MB decoded) instead of trying to allocate it.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(1 << 27))

from edge import __version__  # noqa: E402
from edge.commands import analyze as analyze_cmd  # noqa: E402
from edge.commands import calibrate as calibrate_cmd  # noqa: E402
from edge.commands import config as config_cmd  # noqa: E402
from edge.commands import edge as edge_cmd  # noqa: E402
from edge.commands import evaluate as evaluate_cmd  # noqa: E402
from edge.commands import models as models_cmd  # noqa: E402
from edge.commands import outbox as outbox_cmd  # noqa: E402
from edge.commands import pose as pose_cmd  # noqa: E402
from edge.commands import practice as practice_cmd  # noqa: E402
from edge.demo import run as demo_cmd  # noqa: E402
from edge.errors import HingewatchError  # noqa: E402

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hingewatch",
        description="Watches how people bend and tells a hip hinge from a rounded back.",
    )
    parser.add_argument("--version", action="version", version=f"hingewatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    models_cmd.add_parser(sub)
    pose_cmd.add_parser(sub)
    analyze_cmd.add_parser(sub)
    evaluate_cmd.add_parser(sub)
    calibrate_cmd.add_parser(sub)
    practice_cmd.add_parser(sub)
    config_cmd.add_parser(sub)
    edge_cmd.add_parser(sub)
    outbox_cmd.add_parser(sub)
    demo_cmd.add_parser(sub)
    try:  # the dashboard is an extra; the CLI is the one place edge may reach it
        from dashboard.cli import add_parser as add_dashboard
    except ImportError:
        pass
    else:
        add_dashboard(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except HingewatchError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("hingewatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hingewatch ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except EOFError:
        # A question asked on a closed standard input (no terminal, `< /dev/null`); its
        # prompt left the line open.
        print(file=sys.stderr)
        return _fail("standard input ended before an answer was read (no terminal?); "
                     "pass it on standard input instead (e.g. --password-stdin)")
    except sqlite3.Error as exc:
        # A read-only, locked or corrupt database file: the machine's state, not a bug.
        return _fail(f"database: {exc} (is the file writable by this user, and whole?)")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")


def _fail(message: str) -> int:
    print(f"hingewatch: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
