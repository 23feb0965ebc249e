"""Exceptions that carry one user-facing message naming the culprit and the fix."""


class ChannelsimError(Exception):
    """Base class: the CLI prints the message alone and exits with status 2."""


class ConfigError(ChannelsimError):
    """A config value, override or CLI flag is invalid.

    The message names the field (dotted path, as `--set` takes it) and says how to fix it.
    """

    def __init__(self, field: str, problem: str, fix: str):
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"{field}: {problem}; {fix}")

    def __reduce__(self):
        """Pickle by the three parts, so the error crosses from a sweep's worker process intact."""
        return type(self), (self.field, self.problem, self.fix)


class RunFileError(ChannelsimError):
    """A run file cannot be read as a channelsim run."""


class StateOutOfRange(RuntimeError):
    """A run's state left the physical range (|V| beyond 1 V, counts negative or near int64 overflow).

    The run stops with status `failed` (exit status 1), never `complete`.
    """


class ConfigWarning(UserWarning):
    """A valid config that will probably not do what its author expects (see `channelsim.checks`)."""
