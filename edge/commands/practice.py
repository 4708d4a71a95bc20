"""`hingewatch practice DRILL --source FILE|camera`: practise a hinge drill without a
dashboard; each rep's verdict and cue as it happens, the summary at the end."""

from __future__ import annotations

import argparse
import json
import math
import sys

from edge.capture.sources import ImageSource, open_source
from edge.commands.pose import add_engine_arguments, engine_from
from edge.errors import HingewatchError
from edge.pose_stream import PoseStream
from edge.practice.drills import DRILL_IDS, drill_named
from edge.practice.rep import Rep
from edge.practice.session import PracticeSession
from edge.practice.summary import PracticeSummary, rep_record


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("practice", help="practise a hinge drill: reps counted, scored and cued")
    p.add_argument("drill", choices=DRILL_IDS, help="the drill, in the guide's order")
    p.add_argument("--source", default="camera",
                   help="video file, webcam:N or camera (default: camera)")
    p.add_argument("--device-id", default="hingewatch", help="names the device in the summary")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per rep on stdout, then the summary (hingewatch."
                        "practice/1)")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    drill = drill_named(args.drill)
    session = PracticeSession(drill, args.device_id)
    print(f"{drill.name}: {drill.how}", file=sys.stderr)

    def said(rep: Rep) -> None:
        print(json.dumps(rep_record(rep)) if args.json else rep_line(rep), flush=True)

    with open_source(args.source) as source:
        if isinstance(source, ImageSource):
            raise HingewatchError(f"{args.source}: practice needs a video or a camera, "
                                  "not pictures")
        stream = PoseStream(source, lambda: engine_from(args))
        try:
            for timed in stream:
                for rep in session.update(timed.t_s, timed.pose):
                    said(rep)
        except KeyboardInterrupt:
            # Ctrl-C ends a camera session: the rep under way and the summary still count.
            print(file=sys.stderr)
        for rep in session.finish():
            said(rep)
    assert session.summary is not None
    print(session.summary.to_json() if args.json else summary_text(session.summary))
    return 0


_UNREAD_BACK = {"front_view": "back unseen (front view)", "hidden": "back hidden",
                "unclear": "back unclear", "upright": "back not read (trunk upright)"}


def _deg(value: float) -> str:
    return "?" if math.isnan(value) else f"{value:.0f}°"


def rep_line(r: Rep) -> str:
    mark = "good" if r.good else "work on it"
    back = (f"back line {r.back_bulge_norm:+.3f}" if r.back_bulge_norm is not None
            else _UNREAD_BACK.get(r.back_status, "back not read"))
    shift = "?" if math.isnan(r.hip_shift_norm) else f"{r.hip_shift_norm:.2f}"
    return (f"rep {r.index}  {r.start_s:6.1f}–{r.end_s:.1f} s  {r.posture} "
            f"({r.confidence:.0%})  {mark}: {r.cue}\n"
            f"       trunk {_deg(r.trunk_deg)}  hips back {shift}  knees {_deg(r.knee_deg)}  "
            f"head {_deg(r.head_deg)}  {back}")


def summary_text(s: PracticeSummary) -> str:
    share = "-" if s.good_share is None else f"{s.good_share:.0%}"
    lines = [f"{drill_named(s.drill).name}: {len(s.reps)} reps, {s.good} good hinges ({share})"]
    if s.fault_counts:
        lines.append("seen: " + ", ".join(f"{f.replace('_', ' ')} ×{n}"
                                          for f, n in s.fault_counts.items()))
    lines.append(f"next: {s.practise_next}")
    return "\n".join(lines)
