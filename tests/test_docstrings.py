"""The docstring examples of the user-facing API run and print what they claim (doctest), and every
public function listed here has a docstring with an example."""

import doctest
import functools
import importlib
import inspect
import sys

import pytest

import fnad

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

MODULES = [
    "fnad.api",
    "fnad.array",
    "fnad.ad_util",
    "fnad.jit_dispatch",
    "fnad.export",
    "fnad.config",
    "fnad.custom_derivatives",
    "fnad.checkpoint",
    "fnad.lax.control_flow",
    "fnad.lax.composites",
    "fnad.primitives.misc",
    "fnad.primitives.dot",
    "fnad.primitives.shape",
    "fnad.primitives.reductions",
    "fnad.primitives.elementwise",
    "fnad.primitives.indexing",
    "fnad.primitives.cumulative",
    "fnad.primitives.sorting",
    "fnad.optim",
    "fnad.nn",
    "fnad.random",
    "fnad.tree",
    "fnad.tree_util",
    "fnad.numpy.linalg",
    "fnad.lax.linalg",
    "fnad.scipy.linalg",
] + [
    f"fnad.numpy._{m}"
    for m in (
        "elementwise",
        "creation",
        "reductions",
        "shapes",
        "products",
        "diagonals",
        "indexing",
        "joining",
        "sorting",
        "selection",
        "statistics",
        "calculus",
        "polynomials",
        "index_tricks",
        "functional",
        "bits",
        "windows",
        "interop",
    )
]

# fnad.scipy (issue 14): the special functions and every module of fnad.scipy.stats (its distributions, the
# descriptive statistics and the kernel density estimator)
MODULES += ["fnad.primitives.special", "fnad.scipy.special"]
_STATS = importlib.import_module("fnad.scipy.stats")
MODULES += [f"fnad.scipy.stats.{m}" for m in _STATS.__all__ if inspect.ismodule(getattr(_STATS, m))]
MODULES += ["fnad.scipy.stats.descriptive", "fnad.scipy.stats.kde"]
# fnad.scipy's other subpackages (issue 14): cosine transforms, integration, image interpolation, grid
# interpolation, Krylov solvers and vector quantisation
SCIPY_BREADTH = ["fft", "integrate", "ndimage", "interpolate", "sparse.linalg", "cluster.vq"]
MODULES += [f"fnad.scipy.{m}" for m in SCIPY_BREADTH]

# Objects whose doctests `testmod` does not collect (instances such as custom_jvp functions).
EXTRA_DOCTESTS = ["nn.relu", "nn.relu6"]

PUBLIC = [
    "Array",
    "devices",
    "device_put",
    "block_until_ready",
    "grad",
    "value_and_grad",
    "jvp",
    "vjp",
    "linearize",
    "vmap",
    "jacfwd",
    "jacrev",
    "hessian",
    "make_jaxpr",
    "jit",
    "export.c_library",
    "custom_jvp",
    "custom_vjp",
    "checkpoint",
    "stop_gradient",
    "lax.cond",
    "lax.switch",
    "lax.while_loop",
    "lax.fori_loop",
    "lax.scan",
    "lax.map",
    "optim.sgd",
    "optim.momentum",
    "optim.adam",
    "optim.apply_updates",
    "nn.relu",
    "nn.relu6",
    "nn.sigmoid",
    "nn.softplus",
    "nn.log_sigmoid",
    "nn.silu",
    "nn.gelu",
    "nn.elu",
    "nn.selu",
    "nn.leaky_relu",
    "nn.hard_tanh",
    "nn.softmax",
    "nn.log_softmax",
    "nn.logsumexp",
    "nn.one_hot",
    "nn.standardize",
    "nn.celu",
    "nn.glu",
    "nn.hard_sigmoid",
    "nn.log1mexp",
    "nn.logmeanexp",
    "nn.sparse_plus",
    "nn.dot_product_attention",
    "lax.gather",
    "lax.broadcast",
    "lax.collapse",
    "lax.split",
    "lax.dynamic_slice_in_dim",
    "lax.index_take",
    "lax.select_n",
    "lax.clz",
    "lax.batch_matmul",
    "lax.conv_general_dilated_patches",
    "lax.bitcast_convert_type",
    "random.PRNGKey",
    "random.split",
    "random.fold_in",
    "random.threefry_2x32",
    "random.random_bits",
    "random.uniform",
    "random.normal",
    "random.truncated_normal",
    "random.bernoulli",
    "random.randint",
    "random.exponential",
    "random.gumbel",
    "random.categorical",
    "random.permutation",
    "random.choice",
    "tree_util.tree_flatten",
    "tree_util.tree_unflatten",
    "tree_util.tree_leaves",
    "tree_util.tree_structure",
    "tree_util.tree_map",
    "tree_util.tree_reduce",
    "tree_util.tree_all",
    "tree_util.tree_transpose",
    "tree_util.register_pytree_node",
    "tree_util.register_pytree_node_class",
    "numpy.where",
    "numpy.matmul",
    "numpy.sum",
    "numpy.mean",
    "numpy.reshape",
    "numpy.concatenate",
    "numpy.stack",
    "numpy.einsum",
    "numpy._IndexUpdateHelper",
    "numpy.linalg.solve",
    "numpy.linalg.norm",
    "numpy.logical_and",
    "numpy.logical_or",
    "numpy.logical_xor",
    "numpy.logical_not",
    "numpy.abs",
    "numpy.square",
    "numpy.reciprocal",
    "numpy.round",
    "numpy.power",
    "numpy.floor_divide",
    "numpy.mod",
    "numpy.fmod",
    "numpy.hypot",
    "numpy.logaddexp",
    "numpy.log2",
    "numpy.log10",
    "numpy.deg2rad",
    "numpy.rad2deg",
    "numpy.clip",
    "numpy.nan_to_num",
    "numpy.isinf",
    "numpy.signbit",
    "numpy.copysign",
    "numpy.array",
    "numpy.asarray",
    "numpy.zeros",
    "numpy.ones",
    "numpy.full",
    "numpy.empty",
    "numpy.zeros_like",
    "numpy.ones_like",
    "numpy.full_like",
    "numpy.arange",
    "numpy.linspace",
    "numpy.eye",
    "numpy.identity",
    "numpy.prod",
    "numpy.max",
    "numpy.min",
    "numpy.all",
    "numpy.any",
    "numpy.var",
    "numpy.std",
    "numpy.argmax",
    "numpy.argmin",
    "numpy.shape",
    "numpy.ndim",
    "numpy.size",
    "numpy.ravel",
    "numpy.transpose",
    "numpy.swapaxes",
    "numpy.moveaxis",
    "numpy.expand_dims",
    "numpy.squeeze",
    "numpy.broadcast_to",
    "numpy.atleast_1d",
    "numpy.atleast_2d",
    "numpy.dot",
    "numpy.vdot",
    "numpy.inner",
    "numpy.outer",
    "numpy.tensordot",
    "numpy.trace",
    "numpy.diagonal",
    "numpy.take",
    "numpy.take_along_axis",
    "numpy.atleast_3d",
    "numpy.hstack",
    "numpy.vstack",
    "numpy.dstack",
    "numpy.column_stack",
    "numpy.split",
    "numpy.array_split",
    "numpy.tile",
    "numpy.repeat",
    "numpy.flip",
    "numpy.fliplr",
    "numpy.flipud",
    "numpy.roll",
    "numpy.pad",
    "numpy.tril",
    "numpy.triu",
    "numpy.diag",
    "numpy.diagflat",
    "numpy.kron",
    "numpy.cross",
    "numpy.sort",
    "numpy.argsort",
    "numpy.cumsum",
    "numpy.cumprod",
    "numpy.diff",
    "numpy.meshgrid",
    "numpy.searchsorted",
    "numpy.nonzero",
    "numpy.argwhere",
    "numpy.flatnonzero",
    "numpy.unique",
    "numpy.select",
    "numpy.linalg.inv",
    "numpy.linalg.det",
    "numpy.linalg.slogdet",
    "numpy.linalg.cholesky",
    "numpy.linalg.eigh",
    "numpy.linalg.eigvalsh",
    "numpy.linalg.qr",
    "numpy.linalg.matrix_power",
    "numpy.linalg.svd",
    "numpy.linalg.eig",
    "numpy.linalg.eigvals",
    "lax.linalg.eig",
    "numpy.linalg.svdvals",
    "numpy.linalg.pinv",
    "numpy.linalg.lstsq",
    "numpy.linalg.matrix_rank",
    "numpy.linalg.cond",
    "numpy.linalg.multi_dot",
    "numpy.linalg.tensorinv",
    "numpy.linalg.tensorsolve",
    "numpy.linalg.matrix_norm",
    "numpy.linalg.vector_norm",
    "numpy.linalg.matrix_transpose",
    "numpy.linalg.outer",
    "numpy.linalg.cross",
    "numpy.linalg.trace",
    "numpy.linalg.diagonal",
    "lax.linalg.cholesky",
    "lax.linalg.triangular_solve",
    "lax.linalg.qr",
    "lax.linalg.svd",
    "lax.linalg.eigh",
    "lax.linalg.lu",
    "lax.linalg.lu_pivots_to_permutation",
    "scipy.linalg.solve_triangular",
    "scipy.linalg.cho_factor",
    "scipy.linalg.cho_solve",
    "scipy.linalg.lu",
    "scipy.linalg.lu_factor",
    "scipy.linalg.lu_solve",
    "scipy.linalg.solve",
    "scipy.linalg.expm",
    "scipy.linalg.sqrtm",
    "scipy.linalg.expm_frechet",
    "scipy.linalg.block_diag",
    "scipy.linalg.eigh",
    "scipy.linalg.svd",
    "scipy.linalg.qr",
    "scipy.linalg.inv",
    "scipy.linalg.det",
    "scipy.linalg.cholesky",
    "lax.linalg.schur",
    "lax.linalg.hessenberg",
    "lax.linalg.householder_product",
    "lax.linalg.ormqr",
    "lax.linalg.tridiagonal",
    "lax.linalg.tridiagonal_solve",
    "lax.linalg.symmetric_product",
    "lax.linalg.cholesky_update",
    "lax.linalg.qdwh",
    "scipy.linalg.schur",
    "scipy.linalg.rsf2csf",
    "scipy.linalg.hessenberg",
    "scipy.linalg.polar",
    "scipy.linalg.funm",
    "scipy.linalg.solve_sylvester",
    "scipy.linalg.qr_multiply",
    "scipy.linalg.eigh_tridiagonal",
    "scipy.linalg.circulant",
    "scipy.linalg.companion",
    "scipy.linalg.convolution_matrix",
    "scipy.linalg.dft",
    "scipy.linalg.fiedler",
    "scipy.linalg.fiedler_companion",
    "scipy.linalg.hadamard",
    "scipy.linalg.hankel",
    "scipy.linalg.helmert",
    "scipy.linalg.hilbert",
    "scipy.linalg.invhilbert",
    "scipy.linalg.invpascal",
    "scipy.linalg.leslie",
    "scipy.linalg.pascal",
    "scipy.linalg.toeplitz",
    "lax.dot_general",
    "lax.broadcast_in_dim",
    "lax.iota",
    "lax.broadcasted_iota",
    "lax.reshape",
    "lax.transpose",
    "lax.reduce_sum",
    "lax.argmax",
    "lax.select",
    "lax.slice",
    "lax.pad",
    "lax.concatenate",
    "lax.dynamic_slice",
    "lax.dynamic_update_slice",
    "lax.gather",
    "lax.scatter",
    "lax.scatter_add",
    "lax.cumsum",
    "lax.sort",
    "lax.argsort",
    "lax.rev",
    "lax.slice_in_dim",
    "lax.squeeze",
    "lax.expand_dims",
    "lax.full",
    "lax.integer_pow",
    "lax.convert_element_type",
    "lax.argmin",
    "lax.take_along_axis",
    "config",
    "config.update",
    "config.read",
    "jit_dispatch.JitFunction.lower",
    "jit_dispatch.Lowered.as_text",
    "jit_dispatch.Compiled.as_text",
]
PUBLIC += ["numpy.roots"] + [
    f"scipy.{m}.{name}" for m in SCIPY_BREADTH for name in importlib.import_module(f"fnad.scipy.{m}").__all__
]


def _resolve(name):
    return functools.reduce(getattr, name.split("."), fnad)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name):
    module = sys.modules.get(name) or importlib.import_module(name)  # fnad.checkpoint is also a function
    result = doctest.testmod(module, optionflags=FLAGS, report=True)
    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0, f"{result.failed} doctest example(s) of {name} failed (see the output above)"


@pytest.mark.parametrize("name", EXTRA_DOCTESTS)
def test_object_doctests_pass(name):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in doctest.DocTestFinder().find(_resolve(name), name, globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_every_public_function_has_an_example():
    missing = [name for name in PUBLIC if ">>>" not in (_resolve(name).__doc__ or "")]
    assert not missing, f"public functions without a docstring example: {missing}"


def test_generated_numpy_functions_document_numpy_semantics():
    from fnad import numpy as fnp

    for fn in (fnp.exp, fnp.add, fnp.less, fnp.prod):
        assert f"numpy.{fn.__name__}" in fn.__doc__ and "vmap" in fn.__doc__, fn.__name__
    assert "zero derivative" in fnp.less.__doc__
    assert ">>>" in fnp.sum.__doc__


def _generated_examples():
    import fnad.numpy as fnp
    from fnad import lax
    from fnad.lax._examples import EXAMPLES as LAX
    from fnad.numpy._examples import EXAMPLES as NUMPY

    return [("fnp", fnp, n) for n in sorted(NUMPY)] + [("lax", lax, n) for n in sorted(LAX)]


@pytest.mark.parametrize("alias,module,name", _generated_examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_generated_examples_run(alias, module, name):
    """The factory-made fnad.numpy and fnad.lax functions carry a static example; run it as a doctest."""
    import numpy as np

    fn = getattr(module, name)
    assert ">>>" in fn.__doc__
    test = doctest.DocTestParser().get_doctest(fn.__doc__, {"np": np, "fnad": fnad, alias: module}, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0
