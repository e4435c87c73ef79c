"""What the operations commands share: who ran them (for the audit line) and how the backup
commands pick the directory or single-file variant."""

import getpass
import socket
import sys
from pathlib import Path

from django.core.management.base import CommandError

from operations.backup import BackupError, is_single_file


def operator() -> str:
    """user@host of whoever runs the command: the `by` of its audit line."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def run_backup_step(path: Path, *, no_progress: bool, for_directory, for_file):
    """Call `for_file` when `path` names a .tar/.tar.gz/.tgz file, else `for_directory`, with
    progress bars only on a terminal; a BackupError becomes a CommandError (exit 1)."""
    step = for_file if is_single_file(path) else for_directory
    try:
        return step(path, progress=not no_progress and sys.stderr.isatty(), actor_description=operator())
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
