"""hingewatch edge: everything that runs on the Pi, from camera frames to bend events."""

__version__ = "0.1.0"
