"""One writer per project: an advisory flock on `PROJECT.boxfix.lock`, holding the owner's pid.

flock is released by the kernel when the owning process dies (even by SIGKILL), so a crash
never leaves a stale lock behind; the pid inside is only there to name the other owner.
"""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


class ProjectLockedError(RuntimeError):
    def __init__(self, path: Path, pid: int | None):
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{path} is open in another BoxFix ({who}); close it there, or open it read-only")


class ProjectLock:
    def __init__(self, project_path: Path):
        self.path = Path(str(project_path) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ProjectLockedError(self.path.with_suffix(""), self.holder_pid()) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
        self._fd = fd

    def holder_pid(self) -> int | None:
        try:
            text = self.path.read_text().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
