"""A one-line progress bar on stderr (shown only when stderr is a terminal)."""

import sys
import time


class ProgressBar:
    """ProgressBar(total, label): call update(done, text) as work advances, close() at the end."""

    def __init__(self, total, label, enabled=None, stream=None, width=30):
        stream = stream or sys.stderr  # looked up now, not when this module was imported
        self.total, self.label, self.stream, self.width = total, label, stream, width
        self.enabled = stream.isatty() if enabled is None else enabled
        self.start = self.last_draw = time.perf_counter()

    def update(self, done, text=""):
        now = time.perf_counter()
        if not self.enabled or (now - self.last_draw < 0.1 and done < self.total):
            return
        self.last_draw = now
        filled = int(self.width * done / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        rate = done / max(now - self.start, 1e-9)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} {rate:.0f}/s {text}")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
