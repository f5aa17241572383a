"""The directory on its own log, `incidents.directory.v1` (docs/decisions/0069).

- `DirectoryLog(settings, client_id)`: tails the topic from offset 0 into memory, judging every record at its place
  in log order; `state`, `as_of(at)`, `verdict(event_id)`, `wait_for(offset, timeout_s)`, `ready(timeout_s)`, and
  `run(stop)` as a restartable worker.
- `read_directory(settings, as_of=None)`: the directory read once, for tools.
- `DirectoryAppender(settings, timeout_s)`: `append(event) -> offset`, acks=all and idempotent.
"""

from incidents_shared.directory_log.appender import DirectoryAppender, record_headers, record_key, record_value
from incidents_shared.directory_log.judge import DirectoryFold, DirectoryVerdict
from incidents_shared.directory_log.tail import DirectoryLog, read_directory

__all__ = [
    "DirectoryAppender",
    "DirectoryFold",
    "DirectoryLog",
    "DirectoryVerdict",
    "read_directory",
    "record_headers",
    "record_key",
    "record_value",
]
