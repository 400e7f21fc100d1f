"""Which commit of the bot is running: recorded with eval runs and with feedback on answers."""

from __future__ import annotations

from pathlib import Path

from bot.settings import REPO_ROOT


def git_commit(root: Path = REPO_ROOT) -> str | None:
    """HEAD's commit, read from .git without running git (absent outside a checkout).

    In a git worktree `.git` is a file naming the real git folder (`gitdir: …`).
    """
    git = root / ".git"
    try:
        if git.is_file():
            pointer = git.read_text().strip()
            if not pointer.startswith("gitdir: "):
                return None
            git = (root / pointer[8:]).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head[5:]
        common = git
        if (git / "commondir").is_file():  # a worktree's branches live in the main repository
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for folder in (git, common):
            loose = folder / ref
            if loose.is_file():
                return loose.read_text().strip()
        for folder in (git, common):
            packed = folder / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
    except OSError:
        return None
    return None
