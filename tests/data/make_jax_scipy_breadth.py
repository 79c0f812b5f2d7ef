"""Writes jax_scipy_breadth.json, the reference values `tests/test_scipy_sparse.py` and
`tests/test_scipy_misc.py` check fnad.scipy against where SciPy cannot serve as the reference.

Run with JAX installed (the values in the file came from JAX 0.10.2, CPU, jax_enable_x64=True):
`python tests/data/make_jax_scipy_breadth.py`. It holds:
- `solves`: jax.scipy.sparse.linalg.{cg, bicgstab, gmres}(A, b, **kwargs)[0] with too few iterations to
  converge (`maxiter`, `restart`, `tol`), so the values are those of JAX's exact iteration, not of the
  solution; the operands (`spd`, `general`, the Jacobi preconditioner `pre`, `b`) are stored with them;
- `complex_cg`: cg(spd + 0j, b + 1j * b_imag, maxiter=2)[0];
- `map_coordinates`: jax.scipy.ndimage.map_coordinates(arange(12.).reshape(3, 4), coords, 0, mode,
  cval=-1.0) at halves (JAX rounds them away from zero), and of the int32 image at coords + 0.25 with
  order 1 (JAX rounds the interpolated values), where SciPy differs."""

import json
import pathlib

import numpy as np

SOLVES = [
    ("cg", "spd", {"maxiter": 2}),
    ("cg", "spd", {"maxiter": 2, "M": "pre"}),
    ("cg", "spd", {"tol": 1e-2}),
    ("bicgstab", "general", {"maxiter": 2}),
    ("bicgstab", "general", {"maxiter": 1, "M": "pre"}),
    ("gmres", "general", {"restart": 2, "maxiter": 1}),
    ("gmres", "general", {"restart": 2, "maxiter": 2, "solve_method": "incremental"}),
    ("gmres", "general", {"restart": 3, "maxiter": 1, "M": "pre"}),
    ("gmres", "general", {"restart": 3, "maxiter": 1, "M": "pre", "solve_method": "incremental"}),
]
COORDS = [[0.5, -0.5, 1.5, 2.5], [1.5, 2.5, -0.5, 3.5]]
MODES = ["constant", "nearest", "wrap", "mirror", "reflect"]


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.scipy.sparse.linalg as sparse_linalg
    from jax.scipy import ndimage

    rng = np.random.default_rng(14)
    n = 5
    factor = np.round(rng.normal(size=(n, n)), 3)
    mats = {"spd": factor @ factor.T + np.eye(n), "general": np.round(rng.normal(size=(n, n)), 3) + 2 * np.eye(n)}
    mats["pre"] = np.diag(1 / np.diag(mats["spd"]))
    b = np.round(rng.normal(size=n), 3)
    out = {name: m.tolist() for name, m in mats.items()}
    out["b"] = b.tolist()
    out["solves"] = []
    for solver, a, kwargs in SOLVES:
        args = {k: mats[v] if k == "M" else v for k, v in kwargs.items()}
        x = np.asarray(getattr(sparse_linalg, solver)(mats[a], b, **args)[0])
        out["solves"].append({"solver": solver, "A": a, "kwargs": kwargs, "x": x.tolist()})
    b_imag = np.round(rng.normal(size=n), 3)
    x = np.asarray(sparse_linalg.cg(mats["spd"] + 0j, b + 1j * b_imag, maxiter=2)[0])
    out["complex_cg"] = {"b_imag": b_imag.tolist(), "x_real": x.real.tolist(), "x_imag": x.imag.tolist()}
    image = np.arange(12.0).reshape(3, 4)
    coords = [np.array(c) for c in COORDS]
    out["map_coordinates"] = {
        mode: {
            "order0": np.asarray(ndimage.map_coordinates(image, coords, 0, mode=mode, cval=-1.0)).tolist(),
            "int_order1": np.asarray(
                ndimage.map_coordinates(image.astype(np.int32), [c + 0.25 for c in coords], 1, mode=mode)
            ).tolist(),
        }
        for mode in MODES
    }
    path = pathlib.Path(__file__).with_name("jax_scipy_breadth.json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
