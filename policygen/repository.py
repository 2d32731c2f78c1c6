"""Reading the project's git repository: the one place policygen runs git.

git is run without a shell, with a timeout, and without anything a repository or a user's
configuration could make it run: no system or global configuration, no hooks, no fsmonitor, no
pager, no prompt. Every caller treats None (no git, no repository, no HEAD, too slow) as "unknown".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

TIMEOUT = 10.0  # seconds; a repository git cannot read in this time is not read

_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
}
_SAFE = ("-c", "core.fsmonitor=false", "-c", f"core.hooksPath={os.devnull}")


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    """git's output for *args* run in *cwd*, or None when it cannot answer."""
    found = shutil.which("git")
    if found is None:
        return None
    env = {**_ENV, "PATH": os.environ.get("PATH", os.defpath), "HOME": os.environ.get("HOME", "/")}
    try:
        done = subprocess.run(
            [found, *_SAFE, "-C", str(cwd), *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
