"""Model: a graph of layer calls (functional API), run forward and backward node by node.

The graph is flattened once into a list of steps over integer "slots" (one per tensor), so a
forward or backward pass costs one Python call per layer and a few list lookups.
"""

from __future__ import annotations

import inspect

from .. import activations, backend
from ..layers import deserialize, serialize
from ..layers.convolutional import MaxPooling2D
from ..layers.core import Activation, InputLayer, _Activated
from ..layers.layer import Layer
from ..tensors import KerasTensor
from . import op_nodes, trainer
from .summary import print_summary
from .trainer import Trainer


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _keras_layer_order(nodes, first_visit, input_ids, inputs):
    """Keras's Functional.layers order (which is also get_weights' order): by depth, the
    longest path from a layer to an output, deepest first; ties by first visit in the
    depth-first walk from the outputs. Inputs that feed nothing sit at depth 0, first."""
    node_depth, layer_depth = {}, {}
    in_graph = {id(node) for node in nodes}
    for node in reversed(nodes):  # outputs first, so every reader is settled before its inputs
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = node_depth[id(node)] = depth
        if any(id(t) in input_ids for t in node.output_tensors):
            continue  # a model input: the graph stops here
        for t in node.input_tensors:
            if id(t.node) in in_graph:
                node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    for t in inputs:
        if t.node.layer not in layer_depth:
            layer_depth[t.node.layer], first_visit[t.node.layer] = 0, -1
    return sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_visit[layer]))


class _Step:
    """One layer call. input_grads: whether its inputs' gradients matter when the model's own
    input gradients do not (see Model.backward). defers / takes_deferred: see
    Model._find_deferred_activations. makes_mask: the layer may make a mask from unmasked
    inputs (Layer._makes_mask)."""

    __slots__ = (
        "layer",
        "ins",
        "outs",
        "multi_in",
        "multi_out",
        "weight_idx",
        "input_grads",
        "defers",
        "takes_deferred",
        "makes_mask",
    )

    def __init__(self, layer, ins, outs, multi_in, multi_out, weight_idx, input_grads):
        self.layer, self.ins, self.outs = layer, ins, outs
        self.multi_in, self.multi_out, self.weight_idx = multi_in, multi_out, weight_idx
        self.input_grads = input_grads
        self.defers = self.takes_deferred = False
        self.makes_mask = layer._makes_mask()


class _Deferred:
    """The context of a max pooling step that also ran its producer's relu."""

    __slots__ = ("inner", "y")

    def __init__(self, inner, y):
        self.inner, self.y = inner, y


class Model(Trainer, Layer):
    """A graph of layer calls from inputs to outputs, trained with compile / fit.

    ``keras.Model(inputs=..., outputs=..., name=...)`` makes a Functional, as in Keras.

    Args:
        inputs: a ``keras.Input`` tensor or a list of them.
        outputs: the tensor(s) computed from them by calling layers.
        name: the model's name.
        trainable: whether its weights are updated by training.

    Subclassing with a custom ``call()`` is not supported; build models with the functional
    API or Sequential. A model is a Layer, so it can be called on tensors inside another model.
    """

    _public_module = "keras"

    def __new__(cls, *args, **kwargs):
        return super().__new__(Functional if cls is Model else cls)

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if type(self) is Functional and (inputs is None or outputs is None):
            raise ValueError(
                "keras.Model needs inputs= and outputs= (subclassed models with a "
                "custom call() are not supported by shendu; use the functional "
                "API or Sequential)"
            )
        Layer.__init__(
            self,
            name=name or backend.unique_name(backend.snake_case(type(self).__name__)),
            trainable=trainable,
            **kwargs,
        )
        Trainer.__init__(self)
        self._steps = []
        self._graph_serial = None
        self._weights_memo = (None, [])
        if inputs is not None:
            self._build_graph(inputs, outputs)

    # --- graph ----------------------------------------------------------------------------------

    def _build_graph(self, inputs, outputs) -> None:
        # Dicts of inputs or outputs are flattened in sorted key order, as Keras's tree does.
        self._input_keys = sorted(inputs) if isinstance(inputs, dict) else None
        self._output_keys = sorted(outputs) if isinstance(outputs, dict) else None
        if self._input_keys is not None:
            inputs = [inputs[k] for k in self._input_keys]
        if self._output_keys is not None:
            outputs = [outputs[k] for k in self._output_keys]
        for t in _flat(inputs) + _flat(outputs):
            if not isinstance(t, KerasTensor):
                raise ValueError(
                    f"Model inputs and outputs must be KerasTensors (from "
                    f"keras.Input and layer calls), got {t!r}"
                )
        self._nested_inputs = isinstance(inputs, (list, tuple))
        self._nested_outputs = isinstance(outputs, (list, tuple))
        self.inputs, self.outputs = _flat(inputs), _flat(outputs)
        input_ids = {id(t) for t in self.inputs}
        nodes, seen, first_visit = [], set(), {}

        def visit(tensor):  # depth-first, so every node comes after the nodes it reads
            node = tensor.node
            if id(node) in seen:
                return
            seen.add(id(node))
            first_visit.setdefault(node.layer, len(first_visit))
            if id(tensor) not in input_ids:
                if isinstance(node.layer, InputLayer):
                    raise ValueError(
                        f"Graph disconnected: cannot obtain the value of tensor "
                        f"{tensor.name!r}; it comes from an Input that is not in the "
                        f"model's inputs"
                    )
                for t in node.input_tensors:
                    visit(t)
            nodes.append(node)

        for t in self.outputs:
            visit(t)
        slots = {}

        def slot(t):
            return slots.setdefault(id(t), len(slots))

        for t in self.inputs:
            slot(t)
        steps = []
        for node in nodes:
            if isinstance(node.layer, InputLayer):
                continue
            steps.append(
                (
                    node,
                    [slot(t) for t in node.input_tensors],
                    [slot(t) for t in node.output_tensors],
                )
            )
        self._graph_layers = _keras_layer_order(nodes, first_visit, input_ids, self.inputs)
        self._slot_count = len(slots)
        self._input_slots = [slots[id(t)] for t in self.inputs]
        self._output_slots = [slots[id(t)] for t in self.outputs]
        self._raw_steps = steps
        self._graph_serial = next(trainer._serials)
        self._index_weights()
        self._logit_steps = self._find_logit_steps()
        self._logit_step = next(iter(self._logit_steps), None) if len(self.outputs) == 1 else None
        self._find_deferred_activations()
        self.built = True

    def _weight_list(self) -> list:
        """self.weights, listed once per graph build (layers have their weights by then)."""
        if self._defines_call:  # no graph: its layers may gain weights at any call
            return self.weights
        if self._weights_memo[0] != self._graph_serial:
            self._weights_memo = (self._graph_serial, self.weights)
        return self._weights_memo[1]

    def _index_weights(self) -> None:
        index = {id(w): i for i, w in enumerate(self.weights)}
        self._weight_count = len(index)
        # Without the model's input gradients, a tensor's gradient is still needed when the layer
        # that made it has weights, or needs the gradients of its own inputs (steps run in graph
        # order, so every producer is settled before its readers).
        needed = set()
        self._steps = []
        for node, ins, outs in self._raw_steps:
            input_grads = any(s in needed for s in ins)
            if input_grads or node.layer.weights:
                needed.update(outs)
            self._steps.append(
                _Step(
                    node.layer,
                    ins,
                    outs,
                    isinstance(node.inputs, (list, tuple)),
                    isinstance(node.outputs, (list, tuple)),
                    [index[id(w)] for w in node.layer.weights],
                    input_grads,
                )
            )

    def _find_logit_steps(self) -> dict:
        """{step index: output position} of the steps whose activation a fused loss may skip:
        each makes one output alone, which no step reads and no other output repeats."""
        read = {s for step in self._steps for s in step.ins}
        found = {}
        for k, step in enumerate(self._steps):
            if step.multi_out or step.outs[0] in read or not step.layer.output_activation():
                continue
            if self._output_slots.count(step.outs[0]) == 1:
                found[k] = self._output_slots.index(step.outs[0])
        return found

    def _find_deferred_activations(self) -> None:
        """Marks each layer with an activation whose output only a MaxPooling2D reads: when that
        activation is relu the model runs it after the pooling instead, on a quarter of the
        values (2x2 pools) forward and backward. Exact, because max(relu(a), relu(b)) =
        relu(max(a, b)), and the gradient reaches the same cell (a positive maximum, whose order
        relu keeps) or is zero (relu(max) = 0: every cell of the window has relu' = 0 anyway).
        In a CNN the relu passes over conv outputs were a seventh of a training step."""
        readers: dict[int, list] = {}
        for step in self._steps:
            for s in step.ins:
                readers.setdefault(s, []).append(step)
        for step in self._steps:
            if step.multi_out or step.outs[0] in self._output_slots:
                continue
            read_by = readers.get(step.outs[0], [])
            if (
                isinstance(step.layer, (_Activated, Activation))
                and len(read_by) == 1
                and isinstance(read_by[0].layer, MaxPooling2D)
                and not read_by[0].multi_in
            ):
                step.defers = read_by[0].takes_deferred = True

    @property
    def layers(self) -> list:
        if self._defines_call:  # a subclass: the layers its attributes hold
            return list(self.__dict__.get("_sublayers", ()))
        return list(self._graph_layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name!r}. Existing layers are: {[layer.name for layer in self.layers]}"
        )

    @property
    def weights(self) -> list:
        seen, out = set(), []
        for layer in self.layers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = value

    def get_weights(self) -> list:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Model {self.name!r} expected {len(own)} weights, but received "
                f"{len(weights)} input weights."
            )
        start = 0
        for layer in self.layers:
            count = len(layer.weights)
            layer.set_weights(weights[start : start + count])
            start += count

    def count_params(self) -> int:
        return int(sum(w.value.size for w in self.weights))

    # --- running the graph ------------------------------------------------------------------

    def forward(self, inputs, training=False, logits=False):
        vals = [None] * self._slot_count
        inputs = _flat(inputs)
        if len(inputs) != len(self._input_slots):
            raise ValueError(
                f"Model {self.name!r} expects {len(self._input_slots)} input(s), "
                f"but it received {len(inputs)} input tensors."
            )
        for s, x in zip(self._input_slots, inputs):
            vals[s] = x
        ctxs = []
        masks = None  # per slot, once some layer has made a mask (Layer.compute_mask)
        if logits is True:  # the single output's logits (an outer model's fused loss)
            logit_steps = () if self._logit_step is None else (self._logit_step,)
        else:  # the logits of the outputs at these positions
            logit_steps = [k for k, pos in self._logit_steps.items() if pos in (logits or ())]
        deferred = set()  # slots holding a pre-relu value that the pooling reading it will finish
        for k, step in enumerate(self._steps):
            x = [vals[i] for i in step.ins] if step.multi_in else vals[step.ins[0]]
            mask = None
            if masks is not None:
                mask = [masks[i] for i in step.ins] if step.multi_in else masks[step.ins[0]]
                if step.multi_in and all(m is None for m in mask):
                    mask = None
            if k in logit_steps:
                y, ctx = step.layer.forward_logits(x, training)
            elif step.defers and step.layer.activation == "relu":
                y, ctx = step.layer.forward_logits(x, training)
                deferred.add(step.outs[0])
            else:
                y, ctx = step.layer._forward_masked(x, training, mask)
                if step.takes_deferred and step.ins[0] in deferred:
                    y = activations.forward("relu", y)
                    ctx = _Deferred(ctx, y)
            if step.multi_out:
                for s, v in zip(step.outs, y):
                    vals[s] = v
            else:
                vals[step.outs[0]] = y
            if mask is not None or step.makes_mask:
                out_masks = step.layer.compute_mask(x, mask)
                out_masks = out_masks if step.multi_out else [out_masks]
                if masks is not None or any(m is not None for m in out_masks):
                    masks = masks or [None] * self._slot_count
                    for s, m in zip(step.outs, out_masks):
                        masks[s] = m
            ctxs.append(ctx)
        outs = [vals[s] for s in self._output_slots]
        return (outs if self._nested_outputs else outs[0]), ctxs

    def forward_logits(self, inputs, training=False):
        return self.forward(inputs, training, logits=True)

    def output_activation(self):
        if self._defines_call or self._logit_step is None:
            return None
        return self._steps[self._logit_step].layer.output_activation()

    def output_activations(self) -> list:
        """Per output, the softmax/sigmoid a fused loss may take the logits of (or None); see
        forward(logits=...)."""
        acts = [None] * len(self.outputs)
        for k, pos in self._logit_steps.items():
            acts[pos] = self._steps[k].layer.output_activation()
        return acts

    # Model.backward takes need_dx (see Conv2D.backward), so an outer model can pass it down.
    _can_skip_dx = True

    def backward(self, ctxs, doutputs, need_dx=True, ready=None):
        """Returns (gradients w.r.t. the model's inputs, gradients aligned with self.weights).

        ready(weight_indices, weight_gradients), when given, is called after each layer call's
        backward with the indices of the weights it added gradients to (a distribute strategy
        starts summing a bucket of them over the replicas while the backward goes on).

        need_dx=False (the trainer: Keras never differentiates w.r.t. the input data) returns
        None for the input gradients and computes none it can avoid: a layer whose input
        gradients feed only the model's inputs is asked to skip them (need_dx=False, for the
        layers with _can_skip_dx) or, without weights, is not run backward at all.
        """
        grads = [None] * self._slot_count
        for s, d in zip(
            self._output_slots, _flat(doutputs) if self._nested_outputs else [doutputs]
        ):
            if d is not None:  # None: an output without a loss
                grads[s] = d if grads[s] is None else grads[s] + d
        wgrads = [None] * self._weight_count
        for step, ctx in zip(reversed(self._steps), reversed(ctxs)):
            if step.multi_out:
                dy = [grads[s] for s in step.outs]
                if all(d is None for d in dy):
                    continue
            else:
                dy = grads[step.outs[0]]
                if dy is None:
                    continue
            if step.takes_deferred and type(ctx) is _Deferred:
                dy, ctx = activations.backward("relu", dy, ctx.y), ctx.inner
            wants_dx = need_dx or step.input_grads
            if wants_dx:
                dx, dw = step.layer.backward(ctx, dy)
            elif not step.weight_idx:
                continue
            elif getattr(step.layer, "_can_skip_dx", False):
                dx, dw = step.layer.backward(ctx, dy, need_dx=False)
            else:
                dx, dw = step.layer.backward(ctx, dy)
            for i, g in zip(step.weight_idx, dw):
                wgrads[i] = g if wgrads[i] is None else wgrads[i] + g
            if ready is not None:
                ready(step.weight_idx, wgrads)
            if not wants_dx:  # its input gradients reach only the model's inputs
                continue
            for s, d in zip(step.ins, dx if step.multi_in else [dx]):
                if d is not None:
                    grads[s] = d if grads[s] is None else grads[s] + d
        if not need_dx:
            return None, wgrads
        dins = [grads[s] for s in self._input_slots]
        return (dins if self._nested_inputs else dins[0]), wgrads

    @property
    def _int_input(self) -> bool:
        """Integer input arrays stay integers when the model's input feeds an Embedding."""
        if not self.built or self._defines_call:
            return False
        first = {s: False for s in self._input_slots}
        for step in self._steps:
            for s in step.ins:
                if s in first and step.layer._int_input:
                    first[s] = True
        return any(first.values()) or any(t.dtype.startswith(("int", "uint")) for t in self.inputs)

    @property
    def _string_input(self) -> bool:
        """String input arrays stay strings when an input is a string one (Input(dtype=
        "string")) or feeds a layer that takes strings (TextVectorization, StringLookup)."""
        if not self.built or self._defines_call:
            return False
        first = set(self._input_slots)
        return any(t.dtype == "string" for t in self.inputs) or any(
            getattr(step.layer, "_string_input", False) and first.intersection(step.ins)
            for step in self._steps
        )

    def compute_output_shape(self, input_shape):
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes if self._nested_outputs else shapes[0]

    @property
    def input(self):
        """The model's input tensor(s), as given to the constructor (Keras's Functional.input),
        to build new models from its graph."""
        if self._defines_call or not self.built:
            return Layer.input.fget(self)
        return self._structured(self.inputs, self._input_keys, self._nested_inputs)

    @property
    def output(self):
        """The model's output tensor(s), as given to the constructor."""
        if self._defines_call or not self.built:
            return Layer.output.fget(self)
        return self._structured(self.outputs, self._output_keys, self._nested_outputs)

    def _structured(self, flat, keys, nested):
        """A flat list of inputs or outputs in the structure the constructor was given."""
        if keys is not None:
            return dict(zip(keys, flat))
        return list(flat) if nested else flat[0]

    @property
    def output_names(self) -> list:
        """The names of the layers that make the outputs, in output order (Keras's
        Functional.output_names): compile's dicts and the logs name outputs by them."""
        return [t.node.layer.name for t in self.outputs]

    @property
    def input_shape(self):
        if not self.built or self._defines_call:
            return Layer.input_shape.fget(self)
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else self._structured(shapes, self._input_keys, True)

    @property
    def output_shape(self):
        if not self.built or self._defines_call:
            return Layer.output_shape.fget(self)
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else self._structured(shapes, self._output_keys, True)

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ):
        print_summary(self, line_length, positions, print_fn)

    # --- configuration --------------------------------------------------------------------

    def get_config(self) -> dict:
        if self._defines_call:
            return _subclass_config(self)
        names = {}
        layer_configs = []
        for layer in self.layers:
            inbound = []
            for node in layer._inbound_nodes:
                # An input layer's node reads nothing: Keras records it with no nodes.
                if not node.input_tensors or not all(
                    id(t) in self._known_tensor_ids() for t in node.input_tensors
                ):
                    continue
                inbound.append({"args": [_tensor_config(node.inputs)], "kwargs": {}})
            entry = serialize(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = inbound
            layer_configs.append(entry)
            names[id(layer)] = layer.name

        def history(t):
            return [t.node.layer.name, t.node.layer._inbound_nodes.index(t.node), t.index]

        ins = [history(t) for t in self.inputs]
        outs = [history(t) for t in self.outputs]
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": self._structured(ins, self._input_keys, self._nested_inputs),
            "output_layers": self._structured(outs, self._output_keys, self._nested_outputs),
        }

    def _known_tensor_ids(self) -> set:
        ids = set()
        for step in self._raw_steps:
            ids.update(id(t) for t in step[0].input_tensors)
        return ids

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if cls._defines_call:  # a subclass: its get_config holds its constructor's arguments
            return cls(**config)
        created = {}
        for entry in config["layers"]:
            if not op_nodes.is_op(entry):
                created[entry["name"]] = deserialize(entry, custom_objects)
        outputs = config["output_layers"]
        if isinstance(outputs, dict):  # dict outputs: their tensors by output name
            output_specs = list(outputs.values())
        else:
            output_specs = outputs if outputs and isinstance(outputs[0], list) else [outputs]
        entries = op_nodes.layer_entries(config["layers"], created, output_specs)
        tensors = {}  # (layer name, node index) -> outputs
        for entry in entries:  # layers appear after the layers they read from
            layer = created[entry["name"]]
            if isinstance(layer, InputLayer):
                tensors[(layer.name, 0)] = layer.output
                continue
            for k, node in enumerate(entry["inbound_nodes"]):
                args = _resolve(node["args"][0], tensors)
                tensors[(layer.name, k)] = layer(args)

        def lookup(h):
            out = tensors[(h[0], h[1])]
            return out[h[2]] if isinstance(out, list) else out

        def many(spec):
            if isinstance(spec, dict):
                return {k: lookup(h) for k, h in spec.items()}
            if spec and isinstance(spec[0], list):
                return [lookup(h) for h in spec]
            return lookup(spec)

        return Functional(
            many(config["input_layers"]),
            many(config["output_layers"]),
            name=config.get("name"),
            trainable=config.get("trainable", True),
        )


class Functional(Model):
    """The class of models built with ``keras.Model(inputs, outputs)`` (see Model).

    Input shapes: those of ``inputs``. Output shapes: those of ``outputs`` (a list when
    ``outputs`` was given as one).
    """

    # Keras 3 exports no keras.Functional: its records name the defining module.
    _public_module = "keras.src.models.functional"


def _subclass_config(model) -> dict:
    """Keras's config of a subclassed model that does not define get_config: its name and
    trainable flag, which rebuild it only when its __init__ needs no other argument."""
    params = inspect.signature(type(model).__init__).parameters.values()
    required = [
        p.name
        for p in list(params)[1:]
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        raise NotImplementedError(
            f"{type(model).__name__} is a subclassed model whose __init__ takes arguments "
            f"({', '.join(required)}), so it cannot be saved to a .keras file without a "
            "get_config() method returning them (and from_config, if they are not plain "
            "values); save_weights / load_weights work without one"
        )
    return {"name": model.name, "trainable": model.trainable}


def _tensor_config(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_tensor_config(t) for t in inputs]
    node = inputs.node
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": list(inputs.shape),
            "dtype": inputs.dtype,
            "keras_history": [node.layer.name, node.layer._inbound_nodes.index(node), inputs.index],
        },
    }


def _resolve(arg, tensors):
    if isinstance(arg, list):
        return [_resolve(a, tensors) for a in arg]
    name, node_index, index = arg["config"]["keras_history"]
    out = tensors[(name, node_index)]
    return out[index] if isinstance(out, list) else out
