"""model.summary(): Keras 3's table (as its rich rendering prints it without a terminal)."""

from __future__ import annotations

import shutil

from ..layers.core import InputLayer


def _ratio_reduce(total, ratios, maximums, values):
    """Shrinks values by total in proportion to ratios (the rule rich uses to fit a table)."""
    total_ratio = sum(r for r, m in zip(ratios, maximums) if m)
    remaining = total
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and maximum and total_ratio > 0:
            cut = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - cut)
            remaining -= cut
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _column_widths(positions, line_length):
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current if pos <= 1 else int(pos) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    cells = [w + 2 for w in widths]  # one space of padding on each side
    available = line_length - (len(widths) + 1)  # minus the vertical borders
    if sum(cells) > available:
        cells = _ratio_reduce(sum(cells) - available, [1] * len(cells), cells, cells)
    return [c - 2 for c in cells]


def _wrap(text, width):
    """Splits a cell's text into lines of at most width characters at spaces; a word longer
    than the width is cut to width - 1 characters and "…" (rich's overflow="ellipsis")."""
    lines = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        if cut <= 0:
            word, _, text = text.partition(" ")
            lines.append(word if len(word) <= width else word[: width - 1] + "…")
            if not text:
                return lines
            continue
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    lines.append(text)
    return lines


def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _output_shape(layer):
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].output_tensors
        shapes = [_format_shape(t.shape) for t in outputs]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"
    if layer.built and layer._build_input_shape is not None:
        return _format_shape(layer.compute_output_shape(layer._build_input_shape))
    return "?"


def _readable(size):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _is_sequential_like(model):
    reads = [s for step in model._steps for s in step.ins]
    return (
        all(len(step.ins) == 1 for step in model._steps)
        and len(reads) == len(set(reads))
        and len(model._input_slots) == 1
        and len(model._output_slots) == 1
    )


def _connections(layer, model):
    parts = []
    graph_nodes = {id(step_node) for step_node, _, _ in getattr(model, "_raw_steps", [])}
    for node in layer._inbound_nodes:
        if id(node) not in graph_nodes:
            continue
        for t in node.input_tensors:
            source = t.node.layer
            parts.append(f"{source.name}[{source._inbound_nodes.index(t.node)}][{t.index}]")
    return ", ".join(parts) or "-"


def summary_text(model, line_length=None, positions=None) -> str:
    # A subclassed model (call()) has no graph: a plain table of the layers it holds.
    sequential_like = model._defines_call or not model.built or _is_sequential_like(model)
    if sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        align = ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(positions or default_positions, line_length)

    def row(cells):
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = []
            for lines, w, a in zip(wrapped, widths, align):
                text = lines[i] if i < len(lines) else ""
                parts.append(" " + (text.rjust(w) if a == "right" else text.ljust(w)) + " ")
            out.append(parts)
        return out

    def rule(left, fill, mid, right):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    layers = model.layers
    lines = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓")]
    lines += ["┃" + "┃".join(p) + "┃" for p in row(header)]
    lines.append(rule("┡", "━", "╇", "┩"))
    for k, layer in enumerate(layers):
        if k:
            lines.append(rule("├", "─", "┼", "┤"))
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        if isinstance(layer, InputLayer):
            params = "0"
        cells = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer), params]
        if not sequential_like:
            cells.append(_connections(layer, model))
        lines += ["│" + "│".join(p) + "│" for p in row(cells)]
    lines.append(rule("└", "─", "┴", "┘"))

    weights = model.weights if model.built else []
    trainable = sum(w.value.size for w in weights if w.trainable)
    frozen = sum(w.value.size for w in weights if not w.trainable)
    optimizer = getattr(model, "optimizer", None)
    opt_slots = (
        sum(s.size for slots in optimizer._slots.values() for s in slots)
        if optimizer is not None and optimizer.built
        else None
    )
    # Keras counts the optimizer's step (int64) and learning rate (float32) as two parameters.
    opt_count = 0 if opt_slots is None else opt_slots + 2
    opt_bytes = 0 if opt_slots is None else 4 * opt_slots + 12
    total_bytes = 4 * (trainable + frozen) + opt_bytes
    lines.append(f" Total params: {trainable + frozen + opt_count:,} ({_readable(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_readable(4 * trainable)})")
    lines.append(f" Non-trainable params: {frozen:,} ({_readable(4 * frozen)})")
    if opt_slots is not None:
        lines.append(f" Optimizer params: {opt_count:,} ({_readable(opt_bytes)})")
    return "\n".join(lines)


def print_summary(model, line_length=None, positions=None, print_fn=None) -> None:
    text = summary_text(model, line_length, positions)
    (print_fn or print)(text)
