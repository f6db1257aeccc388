"""Arguments a learner's function receives as minivae objects, built from plain values.

Most exercises give the learner's function arrays and get arrays back. Some give it objects:
the VAE exercise's `train_step(model, optimizer, x, eps)` gets a VAE and its Adam. The grader's
worker process receives and sends plain values only (`minivae.course.wire`), so a check never
passes the objects themselves: it passes a `Built`, the kind of object and a spec of plain
values (a model's architecture and seed, its parameters and gradients; an optimizer's settings
and state). `invoke` builds each one just before the call, in the process the function runs in
(the notebook's own, or the grader's worker), and after the call reads each one back as plain
values (`read_back`), which is all that returns to the check:

    kind      spec                                                        read back
    "vae"     input_dim, hidden, latent_dim, activation, seed;            {"parameters": {name:
              optionally parameters, grads: {name: array}                  array}, "grads": {name:
              (name as Module.named_parameters gives it)                   array or None}}
    "adam"    of: the position of the model among the arguments; lr;     {"t": its step count}
              optionally state: an Adam.state_dict()
    "tensor"  data (an array); requires_grad (bool)                       {"grad": array or None}

A model is float64, the precision the checks compare in. With `backward=` (`True` for a result
of one number, or the upstream gradient's array), `invoke` first runs backward() on what the
function returned, as a training loop does after computing a loss, and reports what failed
(`backward_failure`) and the shapes of the leaves of that graph that require a gradient but are
none of the built objects' (`stray_leaves`: noise made a Tensor with requires_grad=True, say).

The check builds the same objects from the same spec in its own process, computes what the
answer should have done to them, and compares: the kinds are this module's, chosen by name, and
no code crosses between the processes.
"""

import dataclasses

import numpy as np

from minivae.engine.tensor import Tensor
from minivae.models.optim import Adam
from minivae.models.vae import VAE


@dataclasses.dataclass(frozen=True)
class Built:
    """An argument to build where the function runs: a kind of this module and its spec."""

    kind: str  # "vae", "adam" or "tensor"
    spec: dict  # plain values: numbers, strings, lists, arrays, dicts of them


def build_vae(spec, built):
    model = VAE(spec["input_dim"], tuple(spec["hidden"]), spec["latent_dim"],
                activation=spec.get("activation", "relu"), dtype=np.float64, seed=spec["seed"])
    if "parameters" in spec:
        model.load_state_dict(spec["parameters"])
    for name, p in model.named_parameters():
        if name in spec.get("grads", {}):
            p.grad = np.array(spec["grads"][name], dtype=np.float64)  # a fresh copy
    return model


def build_adam(spec, built):
    optimizer = Adam(built[spec["of"]].parameters(), lr=spec["lr"])
    if "state" in spec:
        optimizer.load_state_dict(spec["state"])
    return optimizer


def build_tensor(spec, built):
    return Tensor(np.array(spec["data"], dtype=np.float64), requires_grad=spec["requires_grad"])


def read_vae(model):
    return {"parameters": {n: np.array(p.data) for n, p in model.named_parameters()},
            "grads": {n: None if p.grad is None else np.array(p.grad)
                      for n, p in model.named_parameters()}}


def read_adam(optimizer):
    return {"t": int(optimizer.t)}


def read_tensor(tensor):
    return {"grad": None if tensor.grad is None else np.array(tensor.grad)}


KINDS = {"vae": (build_vae, read_vae), "adam": (build_adam, read_adam),
         "tensor": (build_tensor, read_tensor)}


def build(args):
    """The arguments with each Built made into its object (in order: an optimizer names the
    model before it), the others as they are."""
    made = []
    for arg in args:
        made.append(KINDS[arg.kind][0](arg.spec, made) if isinstance(arg, Built) else arg)
    return made


def read_back(args, made):
    """Each Built argument's object, after the call, as plain values: a tuple, in order."""
    return tuple(KINDS[arg.kind][1](obj) for arg, obj in zip(args, made, strict=True)
                 if isinstance(arg, Built))


def backward_failure(result, backward):
    """Run backward() on a function's result; () if it ran, else (exception type, message)."""
    if not isinstance(result, Tensor):
        return ("TypeError", f"it returned a {type(result).__name__}, not a minivae Tensor")
    try:
        result.backward(None if backward is True else np.asarray(backward, dtype=result.dtype))
    except Exception as error:  # whatever the learner's graph raises, said to the learner
        return (type(error).__name__, (str(error).strip().split("\n") or [""])[0])
    return ()


def owned(obj):
    """The leaf tensors a built object holds."""
    if isinstance(obj, VAE):
        return obj.parameters()
    return [obj] if isinstance(obj, Tensor) else []


def stray_leaves(result, made):
    """Shapes of the leaves of `result`'s graph that require a gradient and belong to no built
    object, in the order a walk from the result meets them."""
    if not isinstance(result, Tensor):
        return ()
    own = {id(leaf) for obj in made for leaf in owned(obj)}
    strays, seen, stack = [], set(), [result]
    while stack:
        tensor = stack.pop()
        node = tensor._node  # the op that made it (engine.tensor.Node); None for a leaf
        if node is None:
            if tensor.requires_grad and id(tensor) not in own and id(tensor) not in seen:
                strays.append(tuple(tensor.shape))
            seen.add(id(tensor))
        elif id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.inputs)
    return tuple(strays)


def well_formed(read):
    """Whether a worker's read-back holds what `read_back` makes: dicts of str keys whose values
    are arrays, numbers, None, or dicts of str keys to arrays or None."""
    def plain(value):
        return value is None or isinstance(value, np.ndarray | int | float) and not isinstance(
            value, bool)

    return isinstance(read, tuple) and all(
        isinstance(entry, dict) and all(
            isinstance(key, str) and (plain(value) or isinstance(value, dict) and all(
                isinstance(k, str) and plain(v) for k, v in value.items()))
            for key, value in entry.items())
        for entry in read)
