"""Every public function of shendu.ops has a twin with its signature in each backend it dispatches
to: the NumPy reference, the native binding and the CUDA module. ops forwards its arguments by
position, so a twin whose parameters differ in order or default would silently compute something
else. The CUDA module imports its compiled kernels (and CuPy), which a CPU build lacks, so its
signatures are read from its source; the binding's from the signature line pybind11 writes."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest
from shendu import _cpu, ops, reference

OPS = sorted(
    name
    for name, f in inspect.getmembers(ops, inspect.isfunction)
    if f.__module__ == ops.__name__ and not name.startswith("_")
)


def _parameters(signature):
    """(name, kind, default and its type) of each parameter; annotations are not compared."""
    return [
        (p.name, p.kind, type(p.default), p.default)  # the type tells 0 from False
        for p in signature.parameters.values()
    ]


def _signature_of(node: ast.FunctionDef) -> inspect.Signature:
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults))
    defaults += [ast.literal_eval(d) for d in args.defaults]
    params = [
        inspect.Parameter(a.arg, kind, default=d)
        for a, d, kind in zip(
            positional,
            defaults,
            [inspect.Parameter.POSITIONAL_ONLY] * len(args.posonlyargs)
            + [inspect.Parameter.POSITIONAL_OR_KEYWORD] * len(args.args),
        )
    ]
    if args.vararg:
        params.append(inspect.Parameter(args.vararg.arg, inspect.Parameter.VAR_POSITIONAL))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        default = inspect.Parameter.empty if d is None else ast.literal_eval(d)
        params.append(inspect.Parameter(a.arg, inspect.Parameter.KEYWORD_ONLY, default=default))
    if args.kwarg:
        params.append(inspect.Parameter(args.kwarg.arg, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(params)


def _cuda_signatures():
    source = pathlib.Path(ops.__file__).with_name("_cuda.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    return {n.name: _signature_of(n) for n in tree.body if isinstance(n, ast.FunctionDef)}


def _binding_signature(name):
    """pybind11's docstring starts with `name(a: object, b: object = None) -> type`: a def line."""
    line = getattr(_cpu, name).__doc__.splitlines()[0]
    return _signature_of(ast.parse(f"def {line}: pass").body[0])


CUDA = _cuda_signatures()

# A missing twin fails the lookup: AttributeError for the modules, KeyError for _cuda.py.
TWINS = {
    "reference": lambda name: inspect.signature(getattr(reference, name)),
    "native": _binding_signature,
    "cuda": lambda name: CUDA[name],
}


def test_the_ops_are_found():
    assert {"matmul", "dense_backward", "conv2d", "lstm_backward", "adam_update"} <= set(OPS)


@pytest.mark.parametrize("backend", sorted(TWINS))
@pytest.mark.parametrize("name", OPS)
def test_each_backend_has_the_op_with_its_signature(backend, name):
    want = _parameters(inspect.signature(getattr(ops, name)))
    assert _parameters(TWINS[backend](name)) == want
