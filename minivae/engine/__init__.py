"""The autograd engine, read first: tensors, the ops' base class, and the gradient checker.

tensor     Tensor, the graph of Nodes, backward() in topological order, unbroadcast
function   Function (forward + backward on arrays, its fast forms), no_grad, plain_forms
gradcheck  central differences on every element against a random upstream gradient
"""

from minivae.engine.function import Function, no_grad, plain_forms
from minivae.engine.gradcheck import GradcheckReport, gradcheck
from minivae.engine.tensor import Tensor

__all__ = ["Function", "GradcheckReport", "Tensor", "gradcheck", "no_grad", "plain_forms"]
