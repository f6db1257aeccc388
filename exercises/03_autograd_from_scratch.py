# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Autograd from scratch
#
# Training a VAE needs the gradient of its loss with respect to every weight. minivae computes
# it with a small reverse-mode autograd engine of its own: every op records how it was called,
# and `backward()` walks those records from the loss back to the weights, applying each op's
# hand-written derivative (the chain rule). This notebook takes the engine apart:
#
# 1. the `Tensor` and the graph it remembers;
# 2. the walk backwards, by hand, in topological order, and why a plain recursion is not enough
#    once a node is used twice;
# 3. a new op written as a `minivae.Function`, proved by `minivae.gradcheck`, and a planted bug
#    that the checker catches;
# 4. two classic mistakes: running backward twice, and assigning a gradient where it must be
#    accumulated.

# %% [markdown]
# **The exercise version of this notebook**, made from `notebooks/03_autograd_from_scratch.py` by
# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked
# **Exercise** leave 1 function for you to write: `linear_backward`.
# Put your code in place of `raise NotImplementedError()`, run the cell, then the check
# cell below it: it tells you whether your answer is right and, if not, what is wrong
# and why. Until then the check says "Not done yet", and the rest of the notebook runs
# all the same, on minivae's own versions.

# %%
# %matplotlib inline
import sys

import matplotlib.pyplot as plt
import numpy as np

import minivae
import minivae.course
from minivae import ops
from minivae.models.optim import SGD
from minivae.ops.activations import stable_sigmoid

rng = np.random.default_rng(0)

# %% [markdown]
# ## The Tensor and its graph
#
# A `minivae.Tensor` holds an array (`.data`) and, once an op made it, a record of that op: a
# node holding the op (a `Function` subclass), what its forward pass saved for the backward pass
# (`ctx`), and its input tensors. Tensors made by hand with `requires_grad=True` are the leaves:
# they have no node, and `backward()` leaves their gradient in `.grad`. (The record sits in the
# attribute `_node`; the underscore says "internal", and we read it here only to see the
# machinery.)
#
# An example in which one intermediate result, $h$, is used three times ($a$ and $b$ are
# vectors, the products elementwise):
#
# $$
# h = \tanh(a \odot b), \qquad \mathcal{L} = \sum_j \big(h_j h_j + h_j\big)
# $$

# %%
a = minivae.Tensor(np.array([[0.5, -1.0, 0.8]]), requires_grad=True)  # (1, 3), a leaf
b = minivae.Tensor(np.array([[2.0, 0.3, -0.7]]), requires_grad=True)  # (1, 3), a leaf
h = ops.tanh(a * b)  # used three times below: twice in h * h, once in + h
loss = (h * h + h).sum()

print(loss)
print("loss was made by", loss._node.function.__name__, "from", loss._node.inputs)
print("h was made by", h._node.function.__name__, "from", h._node.inputs)
print("a is a leaf:", a._node is None)

# %% [markdown]
# The whole graph, drawn by following `_node.inputs` from the loss back to the leaves. Each box
# is one op; arrows point the way the forward pass ran. The backward pass runs against them.


# %%
def graph_nodes(root):
    """Every op node the tensor `root` depends on, and each node's depth from root (longest)."""
    depth = {root._node: 0}
    frontier = [root._node]
    while frontier:
        node = frontier.pop()
        for tensor in node.inputs:
            if tensor._node is not None and depth.get(tensor._node, -1) < depth[node] + 1:
                depth[tensor._node] = depth[node] + 1
                frontier.append(tensor._node)
    return depth


def draw_graph(root, leaf_names, title):
    depth = graph_nodes(root)
    levels = max(depth.values()) + 1
    place = {}  # node or leaf tensor -> (x, y); the loss on the right, the leaves on the left
    for level in range(levels):
        row = [node for node in depth if depth[node] == level]
        for i, node in enumerate(row):
            place[node] = (levels - level, i - (len(row) - 1) / 2)
    for i, leaf in enumerate(leaf_names):
        place[leaf] = (0, i - (len(leaf_names) - 1) / 2)
    figure, axes = plt.subplots(figsize=(10, 2.6))
    edges_drawn = {}  # (source, node) -> how many times; a repeated edge is drawn as an arc
    for node in depth:
        for tensor in node.inputs:
            source = tensor if tensor._node is None else tensor._node
            repeat = edges_drawn.get((source, node), 0)
            edges_drawn[(source, node)] = repeat + 1
            skips_a_level = place[node][0] - place[source][0] > 1  # arc over the box between
            bend = 0.5 * skips_a_level + 0.35 * repeat
            axes.annotate("", xy=place[node], xytext=place[source],
                          arrowprops=dict(arrowstyle="->", shrinkA=18, shrinkB=18,
                                          connectionstyle=f"arc3,rad={-bend}"))
        axes.text(*place[node], node.function.__name__, ha="center", va="center",
                  bbox=dict(boxstyle="round", facecolor="#dbe9f6"))
    for leaf, name in leaf_names.items():
        axes.text(*place[leaf], name, ha="center", va="center",
                  bbox=dict(boxstyle="circle", facecolor="#fde2c8"))
    axes.set_xlim(-0.5, levels + 0.5)
    axes.set_ylim(-0.9, 1.3)
    axes.axis("off")
    axes.set_title(title)
    plt.show()


title = (r"The graph of $\mathcal{L} = \sum (h \odot h + h)$, $h = \tanh(a \odot b)$: "
         "ops in blue, leaves in orange")
draw_graph(loss, {a: "a", b: "b"}, title)

# %% [markdown]
# Two arrows leave Tanh for Mul ($h \odot h$ uses $h$ as both inputs) and one for Add: $h$ has
# three consumers, and each sends a gradient back to it. The chain rule adds them up, one term
# per use $u$ of $h$:
#
# $$
# \frac{\partial \mathcal{L}}{\partial h}
# = \sum_{u} \frac{\partial \mathcal{L}}{\partial u} \frac{\partial u}{\partial h}
# = h + h + 1 = 2h + 1,
# \qquad
# \frac{\partial \mathcal{L}}{\partial a}
# = \frac{\partial \mathcal{L}}{\partial h} \odot (1 - h^2) \odot b
# $$
#
# minivae's `backward()` gets the same:

# %%
loss.backward()
expected_a = (2 * h.data + 1) * (1 - h.data**2) * b.data
assert np.allclose(a.grad, expected_a)
print("a.grad by minivae:", a.grad)
print("by hand:          ", expected_a)

# %% [markdown]
# ## The backward pass by hand, in topological order
#
# Each op's backward takes $\partial \mathcal{L} / \partial (\text{its output})$ and returns
# $\partial \mathcal{L} / \partial (\text{each input})$. The rule that makes
# the walk right: **call a node's backward only once every consumer of its output has sent its
# gradient** (and they have been added up). A topological order of the graph, read from the
# loss towards the leaves, guarantees it. A depth-first search gives one: list a node after
# everything it depends on (post-order), then read the list backwards.


# %%
def topological_order(root):
    """The nodes `root` depends on, each before the nodes that made its inputs (recursive)."""
    order, seen = [], set()

    def visit(node):
        seen.add(node)
        for tensor in node.inputs:
            if tensor._node is not None and tensor._node not in seen:
                visit(tensor._node)
        order.append(node)  # after everything it depends on

    visit(root._node)
    return order[::-1]


def accumulate(total, gradient):
    """The chain rule's sum over uses: add each new contribution to what is there."""
    return gradient if total is None else total + gradient


def backward_by_hand(root, combine=accumulate):
    """dL/dleaf for every leaf: each node's backward called once, in topological order."""
    pending = {root._node: np.ones_like(root.data)}  # dL/d(output of node); dL/dL = 1
    leaf_grads = {}
    for node in topological_order(root):
        grads_in = node.function.backward(node.ctx, pending.pop(node))
        grads_in = grads_in if isinstance(grads_in, tuple) else (grads_in,)
        for tensor, gradient in zip(node.inputs, grads_in, strict=True):
            if gradient is None or not tensor.requires_grad:
                continue
            if tensor._node is None:  # a leaf
                leaf_grads[tensor] = combine(leaf_grads.get(tensor), gradient)
            else:
                pending[tensor._node] = combine(pending.get(tensor._node), gradient)
    return leaf_grads


print("order:", [node.function.__name__ for node in topological_order(loss)])
by_hand = backward_by_hand(loss)
assert np.allclose(by_hand[a], a.grad) and np.allclose(by_hand[b], b.grad)
print("by hand equals minivae's backward for a and b")

# %% [markdown]
# This is the loop of `Tensor.backward` in `minivae/engine/tensor.py`, less its checks. Why not
# simpler, a recursion that sends each gradient down as soon as it arrives? Two ways to write
# that recursion, and what goes wrong with each.
#
# ### Recursion along every path: right, but exponential
#
# Call backward on a node each time a gradient reaches it, and recurse into its inputs at once.
# Because each backward is linear in the incoming gradient, the leaves still receive the right
# sum. But a node is visited once per *path* from the loss to it, and paths multiply: in the
# chain $y_k = y_{k-1} + y_{k-1}$, each level uses the one before twice, so level $k$ is
# reached along $2^k$ paths.


# %%
def backward_recursive(tensor, gradient, calls, skip_visited=False):
    """Send `gradient` down from `tensor` at once and recurse; `calls` records each node visit.

    skip_visited=True skips a node visited before: the repair tried in the next section.
    """
    node = tensor._node
    if node is None:
        tensor.grad = accumulate(tensor.grad, gradient)
        return
    if skip_visited and node in calls:
        return
    calls.append(node)
    grads_in = node.function.backward(node.ctx, gradient)
    grads_in = grads_in if isinstance(grads_in, tuple) else (grads_in,)
    for source, g in zip(node.inputs, grads_in, strict=True):
        if g is not None and source.requires_grad:
            backward_recursive(source, g, calls, skip_visited)


def doubling_chain(levels):
    """x, and y = x + x, then y + y, ... `levels` times: y = 2^levels x."""
    x = minivae.Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(levels):
        y = y + y
    return x, y


depths = list(range(1, 15))
calls_every_path, calls_topological = [], []
for levels in depths:
    x, y = doubling_chain(levels)
    calls = []
    backward_recursive(y, np.ones(1), calls)
    assert x.grad[0] == 2.0**levels  # the right gradient...
    calls_every_path.append(len(calls))  # ...at the cost of one call per path
    calls_topological.append(len(topological_order(y)))
assert calls_every_path == [2**levels - 1 for levels in depths]
assert calls_topological == depths

# %%
figure, axes = plt.subplots(figsize=(7, 4))
axes.semilogy(depths, calls_every_path, "o-", label="recursion along every path: $2^n - 1$")
axes.semilogy(depths, calls_topological, "s-", label="topological order: $n$")
axes.set_xlabel("levels $n$ in the chain $y = y + y$")
axes.set_ylabel("backward calls (log scale)")
axes.set_title("Backward calls for one gradient: every path against each node once")
axes.legend()
plt.show()

# %% [markdown]
# ### Recursion that visits each node once: fast, but wrong
#
# The obvious repair is to remember the nodes already visited and skip them
# (`skip_visited=True`). Now a node's backward runs as soon as the *first* consumer reaches it,
# before the others have sent their share, and the late shares are dropped. In the graph
# above, the first visit to Tanh carries only the gradient from one input of $h \odot h$; the
# other two uses of $h$ never reach $a$.

# %%
a.zero_grad()
backward_recursive(loss, np.ones_like(loss.data), [], skip_visited=True)
print("first visit only:", a.grad)
print("right answer:    ", expected_a)
assert not np.allclose(a.grad, expected_a)
one_use_only = h.data * (1 - h.data**2) * b.data  # dL/dh = h: one input of h * h, nothing else
assert np.allclose(a.grad, one_use_only)

# %% [markdown]
# ### And recursion itself runs out
#
# Even the correct recursive `topological_order` above fails on a deep graph: Python allows
# about a thousand nested calls (`sys.getrecursionlimit()`), and a long chain of ops (or a long
# training loop that never cuts the graph) is deeper. minivae's own walk, in `Tensor.backward`,
# keeps its depth-first search on an explicit stack instead, so depth costs only memory:

# %%
x = minivae.Tensor(np.array([0.5]), requires_grad=True)
y = x
for _ in range(5000):
    y = ops.tanh(y)
print("recursion limit:", sys.getrecursionlimit())
try:
    topological_order(y)
    recursion_failed = False
except RecursionError:
    recursion_failed = True
y.sum().backward()  # minivae's iterative walk: fine
print("recursive order failed:", recursion_failed, "| minivae's backward: x.grad =", x.grad)
assert recursion_failed and x.grad is not None

# %% [markdown]
# ## Writing an op with its backward
#
# A new op is a `minivae.Function` subclass with two static methods on plain arrays:
# `forward(ctx, x)` computes the output and saves what the derivative will need
# (`ctx.save_for_backward`); `backward(ctx, g)` receives
# $g = \partial \mathcal{L} / \partial (\text{output})$ and returns
# $\partial \mathcal{L} / \partial (\text{input})$, one gradient per input. Then
# `Op.apply(tensor)` runs it and records the node.
#
# The op: SiLU (also called swish), $z = x\, \mathrm{sigmoid}(x)$. By the product rule, with
# $s = \mathrm{sigmoid}(x)$ and $ds/dx = s (1 - s)$:
#
# $$
# \frac{dz}{dx} = s + x s (1 - s) = s \big(1 + x (1 - s)\big)
# $$

# %%
class SiLU(minivae.Function):
    """z = x sigmoid(x).   dz/dx = s (1 + x (1 - s)),  s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        s = stable_sigmoid(ctx.xp, x)  # minivae's sigmoid that cannot overflow
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved
        return g * s * (1 + x * (1 - s))


def silu(x):
    return SiLU.apply(x)


# %% [markdown]
# ## Checking it: `minivae.gradcheck`
#
# `minivae.gradcheck(fn, inputs)` compares the backward pass with central differences on every
# element of every input (`docs/math.md`, "Checking gradients"): for a random upstream
# gradient $u$ and $L = \sum u \odot \mathrm{fn}(x)$, with $e_i$ the unit vector along
# element $i$,
#
# $$
# \mathrm{numeric}_i = \frac{L(x + h e_i) - L(x - h e_i)}{2h}, \qquad h = 10^{-6}
# \text{ in float64}
# $$
#
# and it passes when every element's error is at most $10^{-6}$.

# %%
report = minivae.gradcheck(silu, [rng.normal(0, 2, (4, 5))], name="silu")
print(report)
assert report.passed

# %% [markdown]
# ## A planted bug
#
# The classic slip: differentiate $x\, \mathrm{sigmoid}(x)$ as if $x$ were a constant,
# forgetting the product rule, and return $g s$. The forward pass is unchanged, so nothing else
# would notice: the loss
# still goes down (more slowly), the numbers look plausible. The checker does notice:

# %%
class SiLUForgotProductRule(SiLU):
    """The same forward pass; a backward that treats x as a constant: dz/dx = s (wrong)."""

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved
        return g * s


buggy_report = minivae.gradcheck(SiLUForgotProductRule.apply, [rng.normal(0, 2, (4, 5))],
                                 name="silu with the product rule forgotten")
print(buggy_report)
assert not buggy_report.passed

# %% [markdown]
# Where the bug is large and where it hides: the derivative each backward pass reports, over a
# range of $x$, against central differences of the forward pass. The missing term,
# $x s (1 - s)$, vanishes at $x = 0$ and for large $|x|$, so a check at a few lucky points
# could miss it; gradcheck tests every element against a random upstream gradient.

# %%
xs = np.linspace(-8, 8, 161)


def derivative_by_backward(op):
    x = minivae.Tensor(xs.copy(), requires_grad=True)
    op.apply(x).sum().backward()  # upstream gradient 1: .grad is dz/dx at each x
    return x.grad


step = 1e-6
numeric = (xs + step) * stable_sigmoid(np, xs + step) - (xs - step) * stable_sigmoid(np, xs - step)
numeric /= 2 * step
correct, buggy = derivative_by_backward(SiLU), derivative_by_backward(SiLUForgotProductRule)
assert np.allclose(correct, numeric, atol=1e-6) and not np.allclose(buggy, numeric, atol=0.1)

figure, axes = plt.subplots(figsize=(8, 4.5))
axes.plot(xs, numeric, "k.", markersize=4, label="central differences of the forward pass")
axes.plot(xs, correct, label="SiLU.backward: $s\\,(1 + x (1 - s))$")
axes.plot(xs, buggy, "--", label="planted bug: $s$")
axes.set_xlabel("$x$")
axes.set_ylabel("$dz/dx$")
axes.set_title(r"The derivative of $z = x\,\mathrm{sigmoid}(x)$: the bug is invisible at 0 "
               "and far out")
axes.legend()
plt.show()

# %% [markdown]
# ## Exercise 3: a dense layer's backward pass
#
# Every MLP in minivae is made of one op: the dense layer $y = x W + b$, with $x$ (B, I) a batch
# of $B$ inputs of $I$ features each, $W$ (I, O), $b$ (O,) added to every row, and $y$ (B, O).
# It is `ops.linear`. Its backward pass receives $g = \partial \mathcal{L} / \partial y$,
# shape (B, O), and returns one gradient per input, each of its input's shape:
# $\partial \mathcal{L} / \partial x$ (B, I), $\partial \mathcal{L} / \partial W$ (I, O) and
# $\partial \mathcal{L} / \partial b$ (O,).
#
# Write `linear_backward(g, x, weight)`, returning the three in that order. Start from one
# element, $y_{bo} = \sum_i x_{bi} W_{io} + b_o$: $\partial y_{bo} / \partial W_{io} = x_{bi}$,
# and the chain rule adds up $g_{bo}\, \partial y_{bo} / \partial W_{io}$ over every $(b, o)$
# that $W_{io}$ reaches. Then write each such sum as a matrix product, and check that the
# shapes come out as above. Use only the arguments and NumPy. The
# check plugs your function into a `minivae.Function` as the backward pass of y = x W + b,
# compares it with `ops.linear`'s on four batches and runs `minivae.gradcheck` on it.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def linear_backward(g, x, weight):
    """(dL/dx, dL/dW, dL/db) of y = x W + b, from g = dL/dy (B, O), x (B, I) and W (I, O)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
minivae.course.check_linear_backward(linear_backward)

# %% [markdown]
# The rest of the notebook does not use your function; minivae's own backward pass of the layer
# is `Linear.backward` in `minivae/ops/linalg.py`.
#
# ## What goes wrong when backward runs twice
#
# Gradients accumulate: each `backward()` adds its result to `.grad`, never replaces it. That is
# needed (a parameter used in several places, or a batch processed in pieces, sums its
# contributions), but it means a second `backward()` of the same loss doubles the gradient
# ($\partial (w - 3)^2 / \partial w = 2 (w - 3) = -4$ at $w = 1$):

# %%
w = minivae.Tensor(np.array([1.0]), requires_grad=True)
square = ((w - 3) ** 2).sum()  # dL/dw = 2 (w - 3) = -4 at w = 1
square.backward()
print("after one backward:", w.grad)
square.backward()
print("after two:         ", w.grad)
assert np.allclose(w.grad, [-8.0])

# %% [markdown]
# (PyTorch frees the graph's saved arrays after a backward and refuses a second one unless
# asked to keep them; minivae keeps them, so the mistake shows up as a wrong gradient rather
# than an error.) In a training loop the same thing happens across steps unless the gradients
# are cleared before each backward: that is what `optimizer.zero_grad()` is for. Without it,
# each step's gradient is the sum of all the gradients so far. Minimizing $(w - 3)^2$ with
# plain SGD (`minivae.models.optim.SGD`, learning rate 0.1), both ways:


# %%
def descend(clear_gradients, steps=60):
    w = minivae.Tensor(np.array([0.0]), requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    path = [w.data[0]]
    for _ in range(steps):
        if clear_gradients:
            optimizer.zero_grad()
        ((w - 3) ** 2).sum().backward()
        optimizer.step()
        path.append(w.data[0])
    return np.array(path)


cleared, accumulated = descend(True), descend(False)
assert abs(cleared[-1] - 3) < 1e-4  # converged
assert np.abs(accumulated[-20:] - 3).max() > 1  # still swinging around 3 after 60 steps

figure, axes = plt.subplots(figsize=(8, 4))
axes.plot(cleared, "o-", markersize=3, label="zero_grad() before each backward")
axes.plot(accumulated, "s-", markersize=3, label="gradients never cleared")
axes.axhline(3, color="gray", lw=0.8)
axes.set_xlabel("SGD step")
axes.set_ylabel("$w$")
axes.set_ylim(-0.5, 7.8)
axes.set_title("Minimizing $(w - 3)^2$: stale gradients make SGD oscillate instead of converge")
axes.legend(loc="upper center", ncol=2)
plt.show()

# %% [markdown]
# The stale sum acts like momentum that never decays: $w$ overshoots 3, the summed gradient
# only slowly turns round, and $w$ swings back and forth with no damping.
#
# ## What goes wrong when a gradient is assigned instead of accumulated
#
# The mirror-image bug sits inside the engine: storing a gradient with `=` where it must be
# added. Every tensor used more than once (h above, or any weight shared between uses) then
# keeps only the last contribution to reach it. `backward_by_hand` takes the rule as an
# argument, so the bug is one line:


# %%
def assign(total, gradient):
    """The bug: keep only the newest contribution."""
    return gradient


wrong = backward_by_hand(loss, combine=assign)
print("assigned:   ", wrong[a])
print("accumulated:", by_hand[a])
assert not np.allclose(wrong[a], by_hand[a])
assert np.any(np.sign(wrong[a]) != np.sign(by_hand[a]))

# %% [markdown]
# Here $\partial \mathcal{L} / \partial h$ comes out as $h$ instead of $2h + 1$, and for the
# middle element, where $h$ is between $-\tfrac12$ and 0, the gradient even has the wrong sign.
# The bug hides wherever each tensor is used once and strikes wherever one is used more than
# once: in a VAE, $\mu$ and $\mathrm{logvar}$ each feed two terms, the sample
# $z = \mu + \sigma \epsilon$ and the KL. A gradient check of the whole loss (one of
# minivae's tests, and `minivae gradcheck` on the command line) catches it. minivae's engine
# adds in two places, `_accumulate` for leaves and the `pending` sums for intermediate results
# (`tensor.py`), and both do exactly what `accumulate` above does.
