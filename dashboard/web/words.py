"""What the pages say, in plain words: postures, reasons, reject reasons.

The reason texts follow the hip-hinge guide people are taught: name the error, then the
one cue that fixes it.
"""

from __future__ import annotations

from edge.events import SCHEMA_PATHS
from edge.state import STATE_SCHEMA_PATHS

POSTURE_WORDS: dict[str, str] = {
    "hinge": "Hip hinge",
    "round": "Rounded back",
    "squat": "Squat",
    "unsure": "Unsure",
    "not_a_bend": "Not a bend",
    "stand": "Standing",
}

POSTURE_NOTES: dict[str, str] = {
    "hinge": "hips went back, back stayed long — well done",
    "round": "the back bent instead of the hips",
    "squat": "knees and hips bent together, trunk fairly upright — fine for low lifts",
    "unsure": "a bend whose back we could not see — it counts as a bend, not in hinge share",
    "not_a_bend": "a reviewer said this was no bend",
}

# A verdict said less surely than a person is asked to act on (edge.events
# ACT_ON_CONFIDENCE), shown beside its badge: a rounded back read from weak evidence (no
# cue counts it), or a hinge or squat whose back or legs were hard to read.
NOT_SURE_WORD = "not sure"
NOT_SURE_NOTES: dict[str, str] = {
    "round": ("said less than {pct} sure: read from weak evidence (the hips alone, a hump "
              "a bag on the back makes too, or the back seen more from the front than the "
              "side), so it never sets off a cue"),
    "hinge": ("said less than {pct} sure: the back was hard to read (seen at an angle, or "
              "something on it), so this may have been a rounded back"),
    "squat": "said less than {pct} sure: the knees and hips were hard to read",
}
REASON_WORDS: dict[str, str] = {
    "lumbar_rounding": "Lower back rounded — keep the spine neutral and push the hips back.",
    "waist_bend": (
        "Bent from the waist — the hips stayed over the feet; send them back as if closing "
        "a drawer behind you."
    ),
    "upper_back_rounding": (
        "Upper back rounded — keep the chest open and the back in one line from head to "
        "tailbone."
    ),
    "head_drop": "Head dropped — keep the neck in line with the back; look a little ahead.",
    "locked_knees": "Knees locked straight — soften the knees so the hips can travel back.",
    # Why a bend is unsure: what a person can change so the next one is read.
    "front_view": "We could not see the back: turn the camera side-on.",
    "back_hidden": ("Something was along the back (a bag, a child, a hood), so we could not "
                    "read it."),
    "back_unclear": "The back line was unclear in this bend.",
}

REJECT_WORDS: dict[str, str] = {
    "bad_topic": "the topic is not hingewatch/<device>/event|status|state|practice",
    "too_large": "the message is larger than any valid one",
    "not_json": "the payload is not strict JSON (or not UTF-8)",
    "not_object": "the JSON is not an object",
    "unknown_schema": "the event names a schema version this dashboard does not read",
    "invalid": f"the event does not match the schema it names ({', '.join(SCHEMA_PATHS)})",
    "device_mismatch": "the message's device_id differs from the device in its topic",
    "bad_status": "a status that is neither 'online' nor 'offline'",
    "bad_state": f"a state that does not match the schema it names "
                 f"({', '.join(STATE_SCHEMA_PATHS)})",
    "time_out_of_range": "the event's time is before 2000 or more than a day ahead of the "
                         "dashboard's clock",
    "bad_practice": "a practice summary that does not match hingewatch.practice/1",
    "too_deep": "the JSON is nested deeper than any valid message",
    "internal_error": "the dashboard failed on it (a bug: see the log)",
    "set_aside": "the database refused it (the detail says why): kept with its payload in "
                 "the table set_aside, the messages behind it stored",
}

# The Week page's camera check: what a device's many unread bends of one kind had, and
# what to change (summary.camera_checks says when).
CHECK_WORDS: dict[str, str] = {
    "front_view": ("were seen from the front, so their backs could not be read. Turn the "
                   "camera side-on to where people bend (within about 45°)."),
    "back_hidden": ("had something along the back (a bag, a child, a hood) or hands at the "
                    "shoulders, so the back could not be judged. Not the camera's doing: "
                    "they count as bends, not in the hinge share."),
    "back_unclear": ("had a back line too unclear to judge. Check the camera sees the whole "
                     "body, feet included, from 2–4 m at about hip height."),
}

VIEW_WORDS: dict[str, str] = {
    "side": "side view",
    "oblique": "oblique view",
    "front": "front view (the back's shape cannot be seen)",
}


def posture_word(posture: str) -> str:
    return POSTURE_WORDS.get(posture, posture)


def reason_word(reason: str) -> str:
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def activity_word(activity: str) -> str:
    return activity.replace("_", " ").replace("-", " ")
