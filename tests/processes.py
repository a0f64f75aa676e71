"""What a test process knows of the processes it started, read from /proc (Linux)."""

from pathlib import Path


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (none once it has exited)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
