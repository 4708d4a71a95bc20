"""A synthetic household: an articulated body with a multi-segment spine bending in front of
a virtual camera, producing the `Pose` values the BlazePose engine produces, with the true
label of every bend. Tests, the demo and `eval --synthetic` use it; in the pipeline only the
source factory (`edge.pose_stream.open_poses`, for `source = "synthetic"`) imports it."""

from edge.synth.body import SynthBody, Track
from edge.synth.camera import Camera, Placement
from edge.synth.cases import CASES
from edge.synth.clip import Clip, ClipTruth, SynthBendLabel, make_clip, simulate
from edge.synth.day import ACTIVITIES, Activity, Day, household_day
from edge.synth.forward import forward_kinematics
from edge.synth.motion import REASONS, SUBTYPES, Motion, Stance
from edge.synth.observe import SynthNoise
from edge.synth.props import Outfit
from edge.synth.render import render_frame, sheet
from edge.synth.seated import Seated

__all__ = [
    "ACTIVITIES", "Activity", "Day", "household_day",
    "CASES", "REASONS", "SUBTYPES", "Camera", "Clip", "ClipTruth", "Motion", "Outfit",
    "Placement", "Seated", "Stance", "SynthBendLabel", "SynthBody", "SynthNoise", "Track",
    "forward_kinematics", "make_clip", "render_frame", "sheet", "simulate",
]
