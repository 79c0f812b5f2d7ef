"""The names of the huge-argument trig libraries' functions: sin, cos and tan of |x| beyond 2^50
(Payne-Hanek reduction), one library per function and float type, which compiled code calls by
name. Shared by `vecmath`, which generates the libraries and the calls, and `huge_trig`, which
resolves the names in loaded code; neither imports the other's way.
"""

import re

FUNCTIONS = ("sin", "cos", "tan")
FLOAT_SUFFIXES = ("f32", "f64")
VECTOR_LANES = (2, 4, 8, 16, 32)  # the masked vector versions each library defines
SYMBOL = re.compile(r"fnad\.vm\.(sin|cos|tan)\.huge\.(?:v\d+)?(f32|f64)(?:\.masked)?")


def scalar_symbol(which, suffix):
    """The scalar function of `which` (sin, cos or tan) for floats `suffix` (f32, f64)."""
    return f"fnad.vm.{which}.huge.{suffix}"


def vector_symbol(which, suffix, lanes):
    """Its masked version for vectors of `lanes` floats."""
    return f"fnad.vm.{which}.huge.v{lanes}{suffix}.masked"
