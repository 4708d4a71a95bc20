"""Errors a user can act on. The CLI prints their message as one line and exits 2."""


class HingewatchError(Exception):
    """Base class: the message is one sentence that says what to do."""


class ModelError(HingewatchError):
    """A model file is missing, truncated or not the pinned one."""


class SourceError(HingewatchError):
    """A picture, video or camera cannot be opened or decoded."""


class RuntimeMissingError(HingewatchError):
    """No TFLite runtime is installed."""
