"""Signals of the processes the tests start."""

import signal


def default_signals() -> None:
    """`preexec_fn` of a child process: the default actions of SIGINT, SIGTERM and SIGHUP, whatever the launching
    shell left (a background job of a non-interactive shell ignores SIGINT; a child inherits an ignored signal), so
    that the signals a test sends do what they do to a server or a run's process."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
