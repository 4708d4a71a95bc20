"""Practising the hinge: the guide's drills, reps scored with the product's own bend
segmenter and classifier, a cue per rep and a session summary with the progression."""

from edge.practice.drills import DRILL_IDS, DRILLS, Drill, Target, drill_named, next_drill
from edge.practice.rep import CUES, FAULTS, Rep, score_rep
from edge.practice.session import PracticeSession
from edge.practice.summary import PracticeSummary, parse_summary, validate_summary

__all__ = ["CUES", "DRILLS", "DRILL_IDS", "FAULTS", "Drill", "PracticeSession",
           "PracticeSummary", "Rep", "Target", "drill_named", "next_drill", "parse_summary",
           "score_rep", "validate_summary"]
