"""keras.utils.Progbar: the Keras 3 progress bar that model.fit/evaluate/predict print.

verbose=1 on a terminal redraws one line per update (throttled to ``interval`` seconds):

     312/1875 ━━━━━━━━━━━━━━━━━━━━ 2s 1ms/step - accuracy: 0.8123 - loss: 0.6012

ending with the elapsed time instead of the ETA once the target is reached. When the stream is not
a terminal (a log file, a pipe, a notebook capture) only that final line is printed, so logs hold
one clean line per epoch. verbose=2 prints one line at the end: ``1875/1875 - 3s - 2ms/step - ...``.
"""

import math
import sys
import time

import numpy as np

# The clock is looked up through this name so that tests can drive it.
_now = time.monotonic

_BAR = "━"


class Progbar:
    """Progress bar over ``target`` steps (None when unknown), with Keras's arguments.

    Values passed to ``update`` are averaged over the steps seen (weighted by the steps since the
    previous update), except names in ``stateful_metrics``, which are shown as given. The final
    update (``finalize=True``, or ``current >= target``) shows the values it is given as they are.
    """

    def __init__(
        self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step"
    ):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._values = {}  # name -> [weighted sum, weight]; insertion order is display order
        self._seen_so_far = 0
        self._start = _now()
        self._last_update = None
        self._time_after_first_step = None
        self._prev_width = 0

    def update(self, current, values=None, finalize=None):
        """Records progress up to step ``current`` (1-based); ``values``: [(name, value), ...]."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            value = value if type(value) is float else float(np.mean(value))
            if finalize or name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                steps = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * steps
                total[1] += steps
        self._seen_so_far = current

        now = _now()
        time_per_unit = self._step_duration(current, now)
        if self.verbose == 1:
            self._draw_live(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize:
            self._write(
                f"{self._count(current)} - {now - self._start:.0f}s -"
                f"{_format_time(time_per_unit, self.unit_name)}{self._metrics()}\n"
            )

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)

    def _draw_live(self, current, now, time_per_unit, finalize):
        if not finalize:  # throttled first: asking the stream whether it is a terminal costs
            if self._last_update is not None and now - self._last_update < self.interval:
                return
            self._last_update = now
        stream = sys.stdout
        # Redrawing needs a terminal, or a notebook front end that honours "\r" as Keras assumes.
        dynamic = (hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
        if not finalize and not dynamic:
            return
        self._last_update = now
        if self.target is not None and self.target > 0:
            done = int(self.width * min(current / self.target, 1.0))
            count = self._count(current)
            if dynamic:  # Keras's colours: bold count, green done part, grey rest
                bar = (
                    f"\x1b[1m{count}\x1b[0m \x1b[32m{_BAR * done}\x1b[0m"
                    f"\x1b[37m{_BAR * (self.width - done)}\x1b[0m"
                )
            else:
                bar = f"{count} {_BAR * self.width}"
            plain_bar = f"{count} {_BAR * self.width}"
        else:
            bar = plain_bar = f"{current:7d}/Unknown"
        if finalize or self.target is None or self.target <= 0:
            clock = f"{now - self._start:.0f}s"
        else:
            clock = _format_eta(time_per_unit * (self.target - current))
        info = f" {clock}{_format_time(time_per_unit, self.unit_name)}{self._metrics()}"
        width = len(plain_bar) + len(info)
        # On a terminal, pad with spaces so a shorter line fully covers the previous one.
        pad = " " * max(self._prev_width - width, 0) if dynamic else ""
        self._prev_width = width
        self._write(("\r" if dynamic else "") + bar + info + pad + ("\n" if finalize else ""))

    def _count(self, current):
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def _metrics(self):
        text = ""
        for name, (total, weight) in self._values.items():
            avg = total / max(weight, 1)
            text += f" - {name}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {name}: {avg:.4e}"
        return text

    def _step_duration(self, current, now):
        # The first step (graph building, caches, allocations) is not representative: once more
        # steps are done, the estimate leaves it out, as Keras does.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit

    @staticmethod
    def _write(text):
        sys.stdout.write(text)
        sys.stdout.flush()


def _format_eta(eta):
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


def _format_time(time_per_unit, unit_name):
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"
