"""The gradient of a simulation: a damped pendulum integrated with RK4 inside `lax.fori_loop`.

    theta'' = -(g / L) sin(theta) - c theta'

is integrated from (theta0, 0) with the classical 4th-order Runge-Kutta method for a fixed number of
steps. The loop is `fnad.lax.fori_loop(lower, upper, body_fun, init_val)`: one traced body, however
many steps, so the program stays small and `grad` differentiates the whole simulation. Here that is
d theta(T) / d c, the sensitivity of the final angle to the damping coefficient: the adjoint of the
discrete simulation, obtained without writing an adjoint ODE. It is checked against central finite
differences of the same simulation and against forward mode (`jvp`).

    python examples/pendulum_rk4.py [--quick] [--steps 1000] [--dt 0.01] [--damping 0.3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import lax

GRAVITY_OVER_LENGTH = 9.81  # g / L for a 1 m pendulum
INITIAL_ANGLE = 2.5  # radians: large swings, far from the linear regime


def pendulum(state, damping):
    theta, omega = state
    return omega, -GRAVITY_OVER_LENGTH * fnp.sin(theta) - damping * omega


def rk4_step(state, damping, dt):
    def shifted(k, scale):
        return tuple(s + scale * dt * ki for s, ki in zip(state, k))

    k1 = pendulum(state, damping)
    k2 = pendulum(shifted(k1, 0.5), damping)
    k3 = pendulum(shifted(k2, 0.5), damping)
    k4 = pendulum(shifted(k3, 1.0), damping)
    return tuple(s + dt / 6 * (a + 2 * b + 2 * c + d) for s, a, b, c, d in zip(state, k1, k2, k3, k4))


def final_angle(damping, steps, dt):
    init = (INITIAL_ANGLE * fnp.ones_like(damping), fnp.zeros_like(damping))
    theta, _ = lax.fori_loop(0, steps, lambda i, state: rk4_step(state, damping, dt), init)
    return theta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 steps instead of --steps")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--damping", type=float, default=0.3)
    args = parser.parse_args(argv)
    steps = 100 if args.quick else args.steps
    c, dt = args.damping, args.dt

    start = time.perf_counter()
    theta_T = final_angle(c, steps, dt)
    t_value = time.perf_counter() - start
    start = time.perf_counter()
    d_theta = fnad.grad(final_angle)(c, steps, dt)
    t_grad = time.perf_counter() - start
    _, d_theta_fwd = fnad.jvp(lambda v: final_angle(v, steps, dt), (c,), (1.0,))
    h = 1e-6
    d_theta_fd = (final_angle(c + h, steps, dt) - final_angle(c - h, steps, dt)) / (2 * h)

    print(
        f"damped pendulum, theta0 = {INITIAL_ANGLE}, c = {c}, RK4 with dt = {dt} for {steps} steps "
        f"(T = {steps * dt:g} s)"
    )
    print(f"  final angle theta(T)                 = {float(theta_T):.12f}   ({t_value * 1e3:.1f} ms)")
    print(f"  d theta(T)/dc, grad through fori_loop = {float(d_theta):.12f}   ({t_grad * 1e3:.1f} ms)")
    print(f"  d theta(T)/dc, jvp (forward mode)     = {float(d_theta_fwd):.12f}")
    print(f"  d theta(T)/dc, central differences    = {float(d_theta_fd):.12f}   (h = {h:g})")
    print(f"  |grad - finite differences| = {abs(float(d_theta) - float(d_theta_fd)):.1e}")

    dampings = np.array([0.0, 0.1, 0.3, 1.0, 3.0])
    sweep = fnad.vmap(fnad.grad(final_angle), in_axes=(0, None, None))(dampings, steps, dt)
    print(
        "  vmap(grad) over dampings:  "
        + ",  ".join(f"c={c_i:g}: {g_i:.6g}" for c_i, g_i in zip(dampings, np.asarray(sweep)))
    )
    return {
        "damping": c,
        "steps": steps,
        "dt": dt,
        "theta_T": float(theta_T),
        "grad": float(d_theta),
        "jvp": float(d_theta_fwd),
        "finite_difference": float(d_theta_fd),
        "dampings": dampings,
        "sweep_grads": np.asarray(sweep),
    }


if __name__ == "__main__":
    main()
