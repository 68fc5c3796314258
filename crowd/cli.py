"""The ``crowd`` command line: ``crowd <subcommand> ...``.

Each subcommand lives in ``crowd/commands/<name>.py`` and provides ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; it is a thin layer over the
Python API. Only the chosen subcommand's module is imported, so ``crowd synonyms
show`` does not pay for importing torch. Expected failures (bad input, a missing file
or package) are one line on stderr and exit status 2; ``CROWD_DEBUG=1`` shows the
traceback instead. Ctrl-C (exit status 130) and SIGTERM (143) print one line saying that
the same command resumes. Every command spells its switch for the bars ``--no-progress``,
which keeps the stage lines; under ``torchrun`` only rank 0 prints stage lines.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pickle
import signal
import sys
import threading
import zipfile
from collections.abc import Sequence

from crowd import __version__
from crowd.paths import describe_os_error

# name -> (module, one-line help). A plain registry; modules are fixed names, never user strings.
COMMANDS: dict[str, tuple[str, str]] = {
    "synonyms": ("crowd.commands.synonyms", "build or inspect a synonym graph"),
    "poison": ("crowd.commands.poison", "write a poisoned corpus (BadNets, AddSent, SynBkd, StyleBkd, ...)"),
    "certify": ("crowd.commands.certify", "train N noisy copies, vote and certify"),
    "predict": (
        "crowd.commands.predict",
        "classify texts with a kept certified classifier, with certificates",
    ),
    "defend": ("crowd.commands.defend", "run an empirical defense (BKI, ONION, STRIP, RAP)"),
    "bench": ("crowd.commands.bench", "run a benchmark table or figure (resumable rows, rendered tables)"),
}


# Commands that work for seconds to hours: they say so before importing anything heavy.
WORKING = ("poison", "certify", "defend", "bench")

DEBUG_ENV = "CROWD_DEBUG"  # set to 1 for the full traceback instead of the one-line error
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM): a scheduler's or `kill`'s stop


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that it stops as Ctrl-C stops it (stored work kept)."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _rank_zero() -> bool:
    """Whether this process prints status lines: not a ``torchrun`` rank other than 0 (``RANK``, set before the
    process starts; :func:`crowd.train.devices.is_rank_zero`, read here without importing it)."""
    return os.environ.get("RANK", "0") in ("", "0")


class CliError(Exception):
    """An error to report to the user in one line, with exit status 2."""


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crowd",
        description="Certified defenses for text classifiers against backdoor attacks.",
        epilog="Run 'crowd <command> --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"crowd {_version()}")
    parser.add_argument(
        "command",
        choices=sorted(COMMANDS),
        metavar="command",
        help="; ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items()),
    )
    return parser


def _version() -> str:
    return __version__


class _OneLineParser(argparse.ArgumentParser):
    """A subcommand's parser whose errors are one line, as every other error of the CLI (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        _top_parser().parse_args(argv)  # prints help / error and exits
        return 2
    name, rest = argv[0], argv[1:]
    if name in WORKING and not {"-h", "--help"} & set(rest) and _rank_zero():
        print(f"crowd {name}: starting", file=sys.stderr, flush=True)  # before the imports (torch: ~1 s)
    module = importlib.import_module(COMMANDS[name][0])
    parser = _OneLineParser(prog=f"crowd {name}", description=module.HELP)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    main_thread = threading.current_thread() is threading.main_thread()  # signal handlers live there only
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt as e:
        if os.environ.get(DEBUG_ENV):
            raise
        if _rank_zero():
            print(
                f"crowd {name}: interrupted; the same command resumes from what was stored", file=sys.stderr
            )
        return EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED
    except (
        CliError,
        OSError,
        ValueError,
        KeyError,
        ImportError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
    ) as e:
        if os.environ.get(DEBUG_ENV):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError):  # "PATH: reason" naming the path to blame, not "[Errno 40] ..."
            message = describe_os_error(e)
        print(f"crowd {name}: error: {message}", file=sys.stderr)
        return 2
    finally:
        if main_thread:  # None: a handler not set from Python, e.g. by an embedding program
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    raise SystemExit(main())
