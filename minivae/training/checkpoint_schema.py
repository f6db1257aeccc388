"""What a checkpoint must hold, checked in one place before anything uses it.

A checkpoint (minivae.training.checkpoint) is a zip of .npy arrays and one JSON document, "meta":

    meta                 format               FORMAT_VERSION, 3 (2 is read too: below)
                         config               the run's TrainConfig, every field (today's limits)
                         model                the architecture that config describes, with the
                                              data's input_dim
                         dtype                config.dtype
                         epoch, step          epochs completed, optimizer steps taken (>= 0)
                         noise                {seed: config.seed, stream: 0 .. 2^64 - 1}
                         order_rng,           NumPy PCG64 states: {bit_generator: "PCG64",
                         binarize_rng          state: {state, inc}, has_uint32, uinteger}
                         partial              null after a whole epoch; mid-epoch {next_batch,
                                              seconds, sums: {loss, neg_elbo, seen}}
                         data                 the data it trains on (training.data_identity):
                                              {name: config.dataset, train and test: {examples,
                                              sha256}}
                         checksums            {key: the SHA-256 of its content} for every array
                                              below: the zip's CRC-32 guards each member's
                                              bytes but not its name, so only these tell two
                                              arrays of one shape swapped under each other's
                                              names, or an array edited and stored again
    param/<name>         each parameter of that architecture: its shape, the run's dtype, finite
    optim/t              the optimizer's step count: int64, 0-d, equal to step
    optim/<buffer>.<i>   each buffer of the run's optimizer (Adam: m and v; SGD: velocity) for
                         parameter i: that parameter's shape and dtype, finite; Adam's v >= 0
    array/order          mid-epoch only: the epoch's order of the examples, a permutation of
                         the data.train examples

and step is what the epochs and batches done make: epoch * ceil(examples / batch_size), plus
partial.next_batch mid-epoch.

`check_meta` checks the document field by field and returns what the arrays must then be, so
the reader can compare each array's header with it before reading its data (a header that
promises a huge array allocates nothing); `check_values` checks what the arrays hold. The writer
runs the same checks on what it is about to write, so minivae never writes a checkpoint that it
would refuse to read. A failed check raises `Problem`, which names the field; the reader and
the writer say which file and what to do.

Format 2 (minivae before format 3) has no data and no checksums; it is still read, with every
other check. What it lacks: a swap or an edit of its arrays that keeps them finite (and Adam's
v >= 0) goes unnoticed, and a resume on other data is noticed only when the number of batches
per epoch, or of examples mid-epoch, differs (minivae.training.data_identity). The first
checkpoint a resumed run writes is of format 3.
"""

import json
import math
import re

import numpy as np

from minivae.errors import ConfigError
from minivae.limits import COUNT, WIDTH, Number
from minivae.models.optim import OPTIMIZERS
from minivae.training.config import TrainConfig
from minivae.training.data_identity import SPLITS, sha256_of

# 2: Adam saves m and v; the noise takes one stream per example.
# 3: the data's identity and the arrays' checksums.
FORMAT_VERSION = 3
FORMATS_READ = (2, 3)
META_KEYS = {2: ("format", "config", "model", "dtype", "epoch", "step", "noise", "order_rng",
                 "binarize_rng", "partial")}
META_KEYS[3] = (*META_KEYS[2], "data", "checksums")
SHA256 = re.compile(r"[0-9a-f]{64}")
# The optimizer buffers that are never negative, and why.
NEVER_NEGATIVE = {"v": "Adam's v is a running mean of g^2"}
# The settings a checkpoint's config holds, by format; a format-2 run had each setting added
# since at the value that changes nothing (NEW_SETTINGS), and is read as having it.
NEW_SETTINGS = {"free_bits": 0.0}
CONFIG_KEYS = {3: tuple(TrainConfig.__dataclass_fields__)}
CONFIG_KEYS[2] = tuple(k for k in CONFIG_KEYS[3] if k not in NEW_SETTINGS)
STEP_COUNT = Number(integer=True, low=0)  # epochs and steps done
STREAM = Number(integer=True, low=0, high=2**64 - 1)
WORD_128 = Number(integer=True, low=0, high=2**128 - 1)  # PCG64's state and increment
WORD_32 = Number(integer=True, low=0, high=2**32 - 1)
BIT = Number(integer=True, low=0, high=1)
SECONDS = Number(integer=False, low=0)
STEP_DTYPE = np.dtype(np.int64)  # optim/t and array/order
MAX_SHOWN = 300  # characters of a problem shown (a corrupt field may hold megabytes)


class Problem(Exception):
    """What is wrong with one field of a checkpoint, in words (cut to MAX_SHOWN characters)."""

    def __init__(self, text):
        super().__init__(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + " [...]")


def check_meta(meta):
    """Check the parsed meta document field by field; returns (its TrainConfig, layout): the
    arrays the checkpoint must hold, {key: (shape, dtype)}, shape None for a 1-D array of any
    length (the order of the examples)."""
    if isinstance(meta, dict) and not any(_same(meta.get("format"), f) for f in FORMATS_READ):
        raise Problem(f"meta has format {meta.get('format')!r}; this minivae reads formats "
                      f"{' and '.join(map(str, FORMATS_READ))}")
    _keys(meta, "", META_KEYS[meta["format"]] if isinstance(meta, dict) else META_KEYS[3])
    config = _config(meta["config"], meta["format"])
    arch = _architecture(meta["model"], config)
    if meta["dtype"] != config.dtype:
        raise Problem(f"meta dtype {meta['dtype']!r} is not its config's dtype {config.dtype!r}")
    for field in ("epoch", "step"):
        _within(STEP_COUNT, meta[field], field)
    _keys(meta["noise"], "noise", ("seed", "stream"))
    if not _same(meta["noise"]["seed"], config.seed):
        raise Problem(f"meta noise.seed {meta['noise']['seed']!r} is not the run's seed "
                      f"{config.seed}")
    _within(STREAM, meta["noise"]["stream"], "noise.stream")
    for field in ("order_rng", "binarize_rng"):
        _pcg64_state(meta[field], field)
    if meta["partial"] is not None:
        _partial(meta["partial"], config)
    layout = _layout(arch, config, mid_epoch=meta["partial"] is not None)
    if meta["format"] >= 3:
        _data(meta["data"], config)
        _steps(meta, config)
    return config, layout


def check_member(key, shape, dtype, expected):
    """Refuse an array `key` of `shape` and `dtype` (from its .npy header, or in memory) that is
    not `expected` = (shape or None for any length, dtype); either byte order is taken."""
    want_shape, want_dtype = expected
    if dtype.newbyteorder("=") != want_dtype:
        whose = ", the run's dtype" if want_dtype.kind == "f" else ""
        raise Problem(f"{key} has dtype {dtype}, not {want_dtype}{whose}")
    if (len(shape) != 1) if want_shape is None else (tuple(shape) != want_shape):
        wanted = "one axis" if want_shape is None else want_shape
        raise Problem(f"{key} has shape {tuple(shape)}, not {wanted} as the architecture in "
                      "meta says: it was saved from another architecture or optimizer")


def check_values(meta, arrays):
    """What the arrays hold (`arrays`: {key: array}, keys and shapes already checked): each the
    content meta's checksums record under its name (format 3), every parameter and optimizer
    state finite, Adam's v >= 0, the step count that of meta, the order a permutation of the
    training set that leaves at least one batch of the epoch to train."""
    if "checksums" in meta:
        _same_contents(meta["checksums"], arrays)
    for key, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise Problem(f"{key} holds {_counted(~np.isfinite(array), 'NaN or infinite values')}"
                          ": minivae stops a run whose loss is not finite and never saves such "
                          "a state")
        buffer = key.partition("/")[2].partition(".")[0] if key.startswith("optim/") else None
        # optim/v.3 -> "v"
        if buffer in NEVER_NEGATIVE and (array < 0).any():
            raise Problem(f"{key} holds {_counted(array < 0, 'negative values')}: "
                          f"{NEVER_NEGATIVE[buffer]}, never negative (m and v may have been "
                          "swapped)")
    if int(arrays["optim/t"]) != meta["step"]:
        raise Problem(f"optim/t is {int(arrays['optim/t'])} but meta step is {meta['step']}: "
                      "the optimizer takes one step per training step")
    if meta["partial"] is not None:
        order = arrays["array/order"]
        if "data" in meta and len(order) != meta["data"]["train"]["examples"]:
            raise Problem(f"array/order holds {len(order)} examples, but meta data.train holds "
                          f"{meta['data']['train']['examples']}")
        if not np.array_equal(np.sort(order), np.arange(len(order))):
            raise Problem(f"array/order is not a permutation of 0..{len(order) - 1}")
        done = meta["partial"]["sums"]["seen"]
        if done >= len(order):
            raise Problem(f"meta partial.sums.seen is {done}, but the epoch has only "
                          f"{len(order)} examples: none would be left to train")


def _same_contents(checksums, arrays):
    """Each array is the content whose SHA-256 meta records under its name."""
    _keys(checksums, "checksums", tuple(arrays))
    for key, digest in checksums.items():
        _sha256(digest, f"checksums.{key}")
    named = {digest: key for key, digest in checksums.items()}
    for key, array in arrays.items():
        digest = sha256_of(array)
        if digest == checksums[key]:
            continue
        if digest in named:
            raise Problem(f"{key} holds what meta records for {named[digest]}: members were "
                          "swapped under each other's names")
        raise Problem(f"{key} does not hold what meta records for it (SHA-256 {digest[:12]}... "
                      f"where meta has {checksums[key][:12]}...): it was edited after minivae "
                      "wrote it")


def _counted(bad, what):
    """'3 <what> (the first at index (0, 2))' for a boolean array with 3 True elements."""
    where = np.argwhere(bad)
    return f"{len(where)} {what} (the first at index {tuple(int(i) for i in where[0])})"


def parameter_shapes(arch):
    """(name, shape) of each parameter of a model of architecture `arch` (a dict from
    `models.encoder_decoder.architecture`), in the order of `named_parameters()`, without
    building it: a checkpoint is checked against these before anything of its size is
    allocated. Sorted by attribute name at every level, the decoder's come first (its Gaussian
    log-variance before its MLP)."""
    hidden, d, latent = tuple(arch["hidden"]), arch["input_dim"], arch["latent_dim"]
    code_size = 2 * latent if arch["kind"] == "vae" else latent  # (mu, logvar) or z
    shapes = [("decoder.logvar", (d,))] if arch["likelihood"] == "gaussian" else []
    shapes += mlp_parameter_shapes((latent, *hidden[::-1], d), prefix="decoder.net.")
    return shapes + mlp_parameter_shapes((d, *hidden, code_size), prefix="encoder.")


def mlp_parameter_shapes(sizes, prefix=""):
    """(name, shape) of each parameter an MLP of `sizes` has, in the order of
    `named_parameters()`: each layer's bias (out,), then its weight (in, out)."""
    shapes = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        shapes += [(f"{prefix}layers.{i}.bias", (n_out,)),
                   (f"{prefix}layers.{i}.weight", (n_in, n_out))]
    return shapes


def _config(value, format_version):
    """The saved TrainConfig: every field its format has given, within today's limits, none left
    to a default (a saved null where the dataset's default would go in is not the value the run
    used); a setting newer than the format takes the value that changes nothing."""
    _keys(value, "config", CONFIG_KEYS[format_version])
    value = {**NEW_SETTINGS, **value}
    try:
        config = TrainConfig(**value)
    except ConfigError as err:
        raise Problem(f"meta config is refused by this minivae's limits: {err}") from None
    for field in CONFIG_KEYS[3]:
        if not _same(value[field], getattr(config, field)):
            raise Problem(f"meta config.{field} is {value[field]!r}, not a value of its own "
                          "(a saved config holds the value each field had in the run)")
    return config


def _architecture(value, config):
    """The architecture meta holds, which must be exactly the one its config describes."""
    if not isinstance(value, dict):
        raise Problem(f"meta model must be a JSON object (an architecture), got {value!r}")
    _within(WIDTH, value.get("input_dim"), "model.input_dim")
    expected = config.architecture(value["input_dim"])
    if not _same(value, expected):
        raise Problem(f"meta model {value} is not the architecture its config describes: "
                      f"{expected}")
    return expected


def _pcg64_state(value, field):
    """A NumPy PCG64 bit generator's state, as `bit_generator.state` gives it."""
    _keys(value, field, ("bit_generator", "state", "has_uint32", "uinteger"))
    if value["bit_generator"] != "PCG64":
        raise Problem(f"meta {field}.bit_generator must be 'PCG64', got {value['bit_generator']!r}")
    _keys(value["state"], f"{field}.state", ("state", "inc"))
    for name in ("state", "inc"):
        _within(WORD_128, value["state"][name], f"{field}.state.{name}")
    _within(BIT, value["has_uint32"], f"{field}.has_uint32")
    _within(WORD_32, value["uinteger"], f"{field}.uinteger")


def _partial(value, config):
    """Where a run stopped inside an epoch: the next batch, the seconds so far, the loss sums."""
    _keys(value, "partial", ("next_batch", "seconds", "sums"))
    _within(COUNT, value["next_batch"], "partial.next_batch")
    _within(SECONDS, value["seconds"], "partial.seconds")
    sums = value["sums"]
    _keys(sums, "partial.sums", ("loss", "neg_elbo", "seen"))
    for name in ("loss", "neg_elbo"):
        if isinstance(sums[name], bool) or not isinstance(sums[name], int | float) or (
                not math.isfinite(sums[name])):
            raise Problem(f"meta partial.sums.{name} must be a finite number, got {sums[name]!r}")
    seen = value["next_batch"] * config.batch_size  # every batch before the last is full
    if not _same(sums["seen"], seen):
        raise Problem(f"meta partial.sums.seen is {sums['seen']!r}, but {value['next_batch']} "
                      f"batches of {config.batch_size} examples make {seen}")


def _data(value, config):
    """The identity of the data the run trains on: its name, each split's examples and SHA-256."""
    _keys(value, "data", ("name", *SPLITS))
    if value["name"] != config.dataset:
        raise Problem(f"meta data.name {value['name']!r} is not its config's dataset "
                      f"{config.dataset!r}")
    for split in SPLITS:
        _keys(value[split], f"data.{split}", ("examples", "sha256"))
        _within(COUNT, value[split]["examples"], f"data.{split}.examples")
        if config.limit is not None and value[split]["examples"] > config.limit:
            raise Problem(f"meta data.{split}.examples is {value[split]['examples']}, more than "
                          f"its config's limit {config.limit}")
        _sha256(value[split]["sha256"], f"data.{split}.sha256")


def _steps(meta, config):
    """The step count is what the epochs and the batches done make (see the module docstring)."""
    examples = meta["data"]["train"]["examples"]
    per_epoch = math.ceil(examples / config.batch_size)
    batches = 0 if meta["partial"] is None else meta["partial"]["next_batch"]
    if batches >= per_epoch:
        raise Problem(f"meta partial.next_batch is {batches}, but an epoch of {examples} "
                      f"examples has {per_epoch} batches of {config.batch_size}")
    expected = meta["epoch"] * per_epoch + batches
    if meta["step"] != expected:
        raise Problem(f"meta step is {meta['step']}, but {meta['epoch']} epochs of {per_epoch} "
                      f"batches ({examples} examples, batch size {config.batch_size}) and "
                      f"{batches} batches more make {expected}")


def _sha256(value, field):
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise Problem(f"meta {field} must be a SHA-256 (64 lowercase hexadecimal digits), got "
                      f"{value!r}")


def _layout(arch, config, mid_epoch):
    """{key: (shape, dtype)} of every array a checkpoint of this run holds."""
    dtype = np.dtype(config.dtype)
    shapes = parameter_shapes(arch)
    layout = {f"param/{name}": (shape, dtype) for name, shape in shapes}
    layout["optim/t"] = ((), STEP_DTYPE)
    for buffer in OPTIMIZERS[config.optimizer].buffer_names:
        layout.update({f"optim/{buffer}.{i}": (shape, dtype) for i, (_, shape) in
                       enumerate(shapes)})
    if mid_epoch:
        layout["array/order"] = (None, STEP_DTYPE)
    return layout


def _keys(value, field, keys):
    """Refuse `value` unless it is a JSON object with exactly `keys` ("" for meta itself)."""
    name = f"meta {field}" if field else "meta"
    if not isinstance(value, dict):
        raise Problem(f"{name} must be a JSON object with keys {', '.join(keys)}, got {value!r}")
    missing, unknown = [k for k in keys if k not in value], sorted(set(value) - set(keys))
    if missing or unknown:
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has keys minivae never writes there: {', '.join(map(repr, unknown))}"]
            if unknown else [])
        raise Problem(f"{name} {' and '.join(parts)}")


def _within(limit, value, field):
    problem = limit.problem(value)
    if problem:
        raise Problem(f"meta {field} {problem}")


def _same(a, b):
    """Equal as JSON: 4 is not 4.0 and 1 is not true (Python's == says both are)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
