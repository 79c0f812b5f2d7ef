"""fnad.export.c_library: functions and their derivatives as a C library that runs without Python.

One library of many functions (control flow, reverse mode through while_loop, linear algebra
through OpenBLAS, float32, a parallel loop, embedded constants, a program cut into units) is built
once with the system `cc`, driven by a C program generated here that reads inputs from files and
writes outputs back, run with an empty environment; its results must equal fnad.jit's on the same
inputs (the same code: to 1e-12). Then what the C program must see (error codes, threads, no libpython)
and what must fail clearly in Python (bad names, directories, a missing cc)."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.tree_util import tree_leaves

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or not sys.platform.startswith("linux"), reason="needs a C compiler (cc) on Linux"
)

C = np.linspace(-1.0, 1.0, 7)  # captured by `with_const`: embedded into the library


def newton_sqrt(a):
    def body(c):
        return 0.5 * (c[0] + a / c[0]), c[1] + 1

    return lax.while_loop(lambda c: fnp.abs(c[0] * c[0] - a) > 1e-12 * a, body, (a, 0))


def loop_loss(x):  # a trip count that depends on x: reverse mode through while_loop
    def body(c):
        return fnp.sin(c[0]) * 1.1 + 0.3, c[1] + c[0] ** 2 + 0.5

    y, s = lax.while_loop(lambda c: c[1] < 10.0, body, (x, 0.0))
    return y * s


def scan_cond(x, xs, p):
    def step(c, v):
        c = c * 0.9 + fnp.tanh(v)
        return c, fnp.sum(c**2)

    last, ys = lax.scan(step, x, xs)
    return lax.cond(p > 0, lambda z: fnp.sin(z), lambda z: fnp.cos(z) * 2.0, last), ys


def mlp_loss(params, x):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    return fnp.mean((h @ params["w2"]) ** 2)


def linalg(a, b):
    spd = a @ a.T + 4.0 * fnp.eye(a.shape[0])  # 64^3 multiply-adds: gemm in blocks on the thread pool
    small = spd[:6, :6]
    return (
        fnp.linalg.solve(spd, b),
        fnp.linalg.cholesky(spd),
        fnp.linalg.eigh(small)[0],
        fnp.abs(fnp.linalg.qr(small)[1]),
        fnp.linalg.inv(small),
        fnp.sort(b, axis=0),
    )


def integers(i, mask):
    return fnp.where(mask, i * 2, -i), fnp.sum(i), fnp.logical_not(mask)


def remat_grad(x):  # checkpoint and a custom_jvp function (relu) under grad
    return fnad.grad(lambda v: fnp.sum(fnad.checkpoint(lambda u: fnad.nn.relu(fnp.sin(u)) * u)(v)))(x)


def single(x, w):
    return fnp.tanh(x @ w).sum(axis=0), fnp.exp(-x[0] * x[0])


def batched_matmul(a, b):  # five products: one call of the gemm runtime's batched function
    return fnp.einsum("bmk,bkn->bmn", a, b)


def with_const(x):
    return fnp.sum(fnp.exp(x[:7] * C))


def parallel_loop(x):  # 3 * 10^5 elements: a parallel loop (fnad_parallel_for)
    return fnp.sum(fnp.exp(-x * x) + 0.5 * fnp.sin(x)), fnp.tanh(x) * 2.0


def many_kernels(x):  # enough top-level kernels that the program is cut into units
    return [fnp.sum(fnp.sin(x * k)) for k in range(1, 12)]


RNG = np.random.default_rng(0)


def huge_trig(x):  # arguments beyond 2^50 take the Payne-Hanek functions of a runtime library
    return fnp.sin(x * 1e17) + fnp.cos(x * 3e20) * fnp.tan(x * 2.0**60)


EXAMPLES = {  # name -> (function, example arguments); the C program gets other values of these shapes
    "newton_sqrt": (newton_sqrt, (2.0,)),
    "huge_trig": (huge_trig, (np.ones(64),)),
    "loop_grad": (fnad.grad(loop_loss), (0.7,)),
    "scan_cond": (scan_cond, (np.full(3, 0.5), RNG.normal(size=(20, 3)), 1.0)),
    "mlp_value_and_grad": (
        fnad.value_and_grad(mlp_loss),
        ({"w1": RNG.normal(size=(4, 8)), "b1": np.zeros(8), "w2": RNG.normal(size=(8, 2))}, RNG.normal(size=(16, 4))),
    ),
    "linalg": (linalg, (RNG.normal(size=(64, 64)), RNG.normal(size=(64, 3)))),
    "single": (single, (RNG.normal(size=(100, 50)).astype(np.float32), RNG.normal(size=(50, 20)).astype(np.float32))),
    "batched_matmul": (batched_matmul, (RNG.normal(size=(5, 40, 60)), RNG.normal(size=(5, 60, 30)))),
    "with_const": (with_const, (RNG.normal(size=9),)),
    "parallel_loop": (parallel_loop, (RNG.normal(size=300_000),)),
    "many_kernels": (many_kernels, (RNG.normal(size=50),)),
    "integers": (integers, (np.arange(-5, 7, dtype=np.int32), np.arange(12) % 3 == 0)),
    "remat_grad": (remat_grad, (RNG.normal(size=30),)),
}


def _inputs(args, seed):
    """Leaves of the same shapes and dtypes as `args` with other values (positive: sqrt's argument)."""
    rng = np.random.default_rng(seed)
    leaves = [np.asarray(x) for x in tree_leaves(args)]
    return [
        rng.integers(-100, 100, size=x.shape).astype(x.dtype)
        if x.dtype.kind in "iub"
        else (rng.uniform(0.5, 1.5, size=x.shape) * np.sign(x + 0.1)).astype(x.dtype)
        for x in leaves
    ]


def _harness(name, ins, outs):
    """C source of a program for the exported function `name` (library `name`) with inputs and
    outputs of these byte sizes: it reads `name.in<i>` from the directory argv[1], calls, writes
    `name.out<j>`. With argv[2] == "threads" it then calls from 4 threads at once, 25 times each,
    and counts results that differ from the first; with "errors" it prints the codes of bad calls."""
    sizes = lambda xs: "{" + ", ".join(map(str, [*xs, 0])) + "}"
    args = [f"in[{i}]" for i in range(len(ins))] + [f"out[{j}]" for j in range(len(outs))]
    call, null_in, null_out = ", ".join(args), ", ".join(["NULL", *args[1:]]), ", ".join([*args[:-1], "NULL"])
    template = """
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "NAME.h"

static const size_t in_bytes[] = IN_BYTES, out_bytes[] = OUT_BYTES;
static const char* directory;
static int mismatches;

static int run(int save, void** in, void** out) {
  char path[4096];
  for (int i = 0; i < N_IN; i++) {
    snprintf(path, sizeof path, "%s/NAME.in%d", directory, i);
    in[i] = malloc(in_bytes[i] + 1);
    FILE* f = fopen(path, "rb");
    if (!f || fread(in[i], 1, in_bytes[i], f) != in_bytes[i]) { fprintf(stderr, "cannot read %s\\n", path); exit(2); }
    fclose(f);
  }
  for (int j = 0; j < N_OUT; j++) out[j] = calloc(out_bytes[j] + 1, 1);
  int rc = NAME(CALL);
  for (int j = 0; save && j < N_OUT; j++) {
    snprintf(path, sizeof path, "%s/NAME.out%d", directory, j);
    FILE* f = fopen(path, "wb");
    fwrite(out[j], 1, out_bytes[j], f);
    fclose(f);
  }
  return rc;
}

static void* hammer(void* first) {
  void *in[64], *out[64];
  for (int r = 0; r < 25; r++) {
    int bad = run(0, in, out) != 0;
    for (int j = 0; j < N_OUT; j++) bad += memcmp(((void**)first)[j], out[j], out_bytes[j]) != 0;
    __atomic_add_fetch(&mismatches, bad, __ATOMIC_RELAXED);
    for (int i = 0; i < N_IN; i++) free(in[i]);
    for (int j = 0; j < N_OUT; j++) free(out[j]);
  }
  return NULL;
}

int main(int argc, char** argv) {
  void *in[64], *out[64];
  directory = argv[1];
  if (argc > 2 && !strcmp(argv[2], "errors")) {  /* NULL input, NULL output, 0 and 2 threads */
    run(0, in, out);
    int null_in = NAME(NULL_IN), null_out = NAME(NULL_OUT);
    int zero = NAME_set_num_threads(0), two = NAME_set_num_threads(2);
    printf("%d %d %d %d %d\\n", null_in, null_out, zero, two, NAME_get_num_threads());
    return 0;
  }
  printf("threads %d\\n", NAME_get_num_threads());
  if (run(1, in, out)) { printf("NAME failed\\n"); return 1; }
  if (argc > 2 && !strcmp(argv[2], "threads")) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, out);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("mismatches %d\\n", mismatches);
  }
  return 0;
}
"""
    for key, value in [
        ("IN_BYTES", sizes(ins)),
        ("OUT_BYTES", sizes(outs)),
        ("N_IN", str(len(ins))),
        ("N_OUT", str(len(outs))),
        ("CALL", call),
        ("NULL_IN", null_in),
        ("NULL_OUT", null_out),
        ("NAME", name),
    ]:
        template = template.replace(key, value)
    return template


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    for name, (f, args) in EXAMPLES.items():  # each takes other arguments: a library each
        fnad.export.c_library({name: f}, *args, directory=root / name, library=name)
    data = root / "data"
    data.mkdir()
    expected, specs = {}, []
    for seed, (name, (f, args)) in enumerate(EXAMPLES.items()):
        ins = _inputs(args, seed)
        for i, x in enumerate(ins):
            (data / f"{name}.in{i}").write_bytes(np.ascontiguousarray(x).tobytes())
        treedef = fnad.tree_util.tree_structure(args)
        outs = [np.asarray(o) for o in tree_leaves(fnad.jit(f)(*fnad.tree_util.tree_unflatten(treedef, ins)))]
        expected[name] = outs
        specs.append((name, [x.nbytes for x in ins], [o.nbytes for o in outs]))
    programs = {}
    for name, ins, outs in specs:
        source = root / f"{name}.c"
        source.write_text(_harness(name, ins, outs))
        exe = root / f"run_{name}"
        subprocess.run(
            [
                "cc",
                "-O1",
                "-o",
                exe,
                source,
                f"-I{root / name}",
                f"-L{root / name}",
                f"-l{name}",
                f"-Wl,-rpath,{root / name}",
                "-pthread",
            ],
            check=True,
            cwd=root,
            env={"PATH": "/usr/bin:/bin"},  # the system compiler, no Python in its environment
            capture_output=True,
        )
        programs[name] = exe
    return root, data, expected, programs


def _run(program, *args, env=None):
    # An environment without Python: no PYTHONPATH/PYTHONHOME, no virtualenv, nothing but what is given.
    done = subprocess.run([program, *args], env=env or {}, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_results_equal_jit(built):
    _, data, expected, programs = built
    for name, exe in programs.items():
        _run(exe, data)
        for j, want in enumerate(expected[name]):
            got = np.frombuffer((data / f"{name}.out{j}").read_bytes(), want.dtype).reshape(want.shape)
            if want.dtype.kind in "iub":
                np.testing.assert_array_equal(got, want, err_msg=f"{name} output {j}")
                continue
            tol = 1e-12 if want.dtype == np.float64 else 1e-6
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{name} output {j}")


def test_reverse_mode_through_while_loop_is_the_derivative(built):
    # The exported gradient against central differences of the function itself.
    _, data, _, programs = built
    _run(programs["loop_grad"], data)
    x = float(np.frombuffer((data / "loop_grad.in0").read_bytes(), np.float64)[0])
    got = float(np.frombuffer((data / "loop_grad.out0").read_bytes(), np.float64)[0])
    h = 1e-6
    assert got == pytest.approx((loop_loss(x + h) - loop_loss(x - h)) / (2 * h), rel=1e-6)


def test_no_python_in_the_library_or_the_program(built):
    root, _, _, programs = built
    for name in ("linalg", "mlp_value_and_grad"):
        so = root / name / f"lib{name}.so"
        for binary in (so, programs[name]):
            ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
            assert "python" not in ldd.lower(), ldd
        undefined = subprocess.run(
            ["nm", "-D", "--undefined-only", so], capture_output=True, text=True, check=True
        ).stdout
        assert not [s for s in undefined.split() if s.startswith(("Py", "_Py"))], undefined
        exported = subprocess.run(
            ["nm", "-D", "--defined-only", so], capture_output=True, text=True, check=True
        ).stdout.split()
        assert {name, f"{name}_set_num_threads", f"{name}_get_num_threads"} <= set(exported)
        assert not [s for s in exported if s.startswith("fnad")], exported  # the runtimes are hidden
    assert (root / "linalg" / "libscipy_openblas.so").exists()  # the BLAS it calls, beside it
    assert (
        "libscipy_openblas.so => " + str(root / "linalg")
        in subprocess.run(["ldd", root / "linalg" / "liblinalg.so"], capture_output=True, text=True, check=True).stdout
    )


def test_header_documents_every_argument(built):
    root = built[0]
    header = (root / "mlp_value_and_grad" / "mlp_value_and_grad.h").read_text()
    # inputs in tree_util order (dict keys sorted), outputs: (value, grad pytree)
    for line in [
        "const double* in0  float64[8]         params['b1']",
        "const double* in1  float64[4, 8]      params['w1']",
        "const double* in2  float64[8, 2]      params['w2']",
        "const double* in3  float64[16, 4]     x",
        "double* out0       float64[]          result[0]",
        "double* out1       float64[8]         result[1]['b1']",
        "#define MLP_VALUE_AND_GRAD_IN1_SIZE 32",
        "#define MLP_VALUE_AND_GRAD_ERROR_NO_MEMORY 2",
        (
            "int mlp_value_and_grad(const double* in0, const double* in1, const double* in2, const double* in3, "
            "double* out0, double* out1, double* out2, double* out3);"
        ),
    ]:
        assert line in header, line
    assert "float* out0" in (root / "single" / "single.h").read_text()
    assert "int integers(const int32_t* in0, const bool* in1, int32_t* out0, int64_t* out1, bool* out2);" in (
        (root / "integers" / "integers.h").read_text()
    )


def test_threads_give_identical_results_and_calls_are_thread_safe(built):
    _, data, _, programs = built
    for name in ("parallel_loop", "linalg", "mlp_value_and_grad"):
        results = []
        for threads in ("1", "3"):
            out = _run(programs[name], data, "threads", env={"FNAD_NUM_THREADS": threads})
            assert f"threads {threads}\n" in out and "mismatches 0\n" in out, out
            results.append([p.read_bytes() for p in sorted(data.glob(f"{name}.out*"))])
        assert results[0] == results[1]


def test_error_codes(built):
    _, data, _, programs = built
    out = _run(programs["newton_sqrt"], data, "errors", env={"FNAD_NUM_THREADS": "5"})
    # NULL input, NULL output, set_num_threads(0), set_num_threads(2); then the count
    assert out.split() == ["1", "1", "3", "0", "2"]


def test_export_uses_the_disk_cache(tmp_path, monkeypatch):
    import fnad_compiler.cache
    import fnad_compiler.engine

    if fnad_compiler.cache.default_cache().disk is None:
        pytest.skip("no disk cache")
    f, args = EXAMPLES["many_kernels"]
    fnad.export.c_library({"f": f}, *args, directory=tmp_path / "a", library="first")

    def no_compiles(*a, **k):
        raise AssertionError("compiled again instead of using the disk cache")

    monkeypatch.setattr(fnad_compiler.engine, "compile_object", no_compiles)
    monkeypatch.setattr(fnad_compiler.engine, "compile_objects", no_compiles)
    lib = fnad.export.c_library({"f": f}, *args, directory=tmp_path / "b", library="first")
    assert lib.path.exists()


def test_clear_errors(tmp_path, monkeypatch):
    f = lambda x: x * 2.0
    x = np.ones(3)
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(fnad.export.ExportError, match="not a directory"):
        fnad.export.c_library({"f": f}, x, directory=afile)
    with pytest.raises(fnad.export.ExportError, match="cannot create"):
        fnad.export.c_library({"f": f}, x, directory=afile / "sub")
    for bad in ("int", "2f", "f-g", "fnad_main"):
        with pytest.raises(fnad.export.ExportError, match="C identifier|reserved"):
            fnad.export.c_library({bad: f}, x, directory=tmp_path)
    with pytest.raises(fnad.export.ExportError, match="C identifier"):
        fnad.export.c_library({"f": f}, x, directory=tmp_path, library="my lib")
    with pytest.raises(TypeError, match="not an array.*static_argnums"):
        fnad.export.c_library({"f": lambda x, s: x}, x, "text", directory=tmp_path)
    with pytest.raises(TypeError, match="non-empty dict"):
        fnad.export.c_library(f, x, directory=tmp_path)
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(fnad.export.ExportError, match="no-such-cc.*not found.*CC"):
        fnad.export.c_library({"f": f}, x, directory=tmp_path)
    monkeypatch.delenv("CC")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(fnad.export.ExportError, match="'cc' was not found on PATH"):
        fnad.export.c_library({"f": f}, x, directory=tmp_path)
    monkeypatch.setenv("CC", "false")  # a compiler that fails: its exit status in the message
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(fnad.export.ExportError, match="linking libfnad_export.so failed"):
        fnad.export.c_library({"f": f}, x, directory=tmp_path)


def test_static_arguments(tmp_path):
    def power(x, n):
        return x**n

    lib = fnad.export.c_library({"cube": power}, np.ones(4), 3, directory=tmp_path, static_argnums=1)
    assert lib.declarations == ("int cube(const double* in0, double* out0);",)
    lib = fnad.export.c_library({"square": power}, np.ones(4), 2, directory=tmp_path, static_argnames="n")
    assert "square: traced from power(x) with n=2" in lib.header.read_text()


def test_functions_sharing_code_in_one_library(tmp_path):
    # Both programs call the same units: linked once, each function with its own entry.
    f, args = EXAMPLES["many_kernels"]
    g = lambda x: [-y for y in f(x)]
    lib = fnad.export.c_library({"f": f, "g": g}, *args, directory=tmp_path, library="both")
    source = tmp_path / "main.c"
    source.write_text(
        '#include <stdio.h>\n#include "both.h"\nint main(void) { double x[50], a[11], b[11];\n'
        "  for (int i = 0; i < 50; i++) x[i] = 0.01 * i;\n"
        "  int rc = f(x, a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7, a + 8, a + 9, a + 10)\n"
        "    + g(x, b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10);\n"
        '  for (int i = 0; i < 11; i++) printf("%.17g %.17g\\n", a[i], b[i]);\n  return rc; }\n'
    )
    exe = tmp_path / "main"
    subprocess.run(
        ["cc", "-o", exe, source, f"-I{tmp_path}", f"-L{tmp_path}", "-lboth", f"-Wl,-rpath,{tmp_path}"], check=True
    )
    got = np.loadtxt(_run(exe, tmp_path).splitlines())
    want = np.array(fnad.jit(f)(0.01 * np.arange(50.0)))
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], -want, rtol=1e-12)
    assert lib.declarations[1].startswith("int g(const double* in0, double* out0, double* out1,")


def test_example_trains_from_c_like_fnad(tmp_path):
    # examples/export_c: the exported loss and gradient, trained by train.c in a process without
    # Python, end where fnad.jit's own gradient descent ends.
    example = Path(__file__).resolve().parents[1] / "examples" / "export_c"
    spec = importlib.util.spec_from_file_location("_examples_export_model", example / "export_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--quick", "--out", str(tmp_path)])
    exe = tmp_path / "train"
    subprocess.run(
        ["cc", "-O2", "-o", exe, example / "train.c", f"-I{tmp_path}", f"-L{tmp_path}", "-lmlp", "-Wl,-rpath,$ORIGIN"],
        check=True,
    )
    printed = _run(exe, str(out["steps"])).splitlines()
    assert printed[1].startswith(f"loss after {out['steps']} steps: ")
    assert float(printed[1].split()[-1]) == pytest.approx(out["loss"], rel=1e-12)
    params = [line.split() for line in printed if line.startswith("param ")]
    want = np.concatenate([np.ravel(leaf) for leaf in tree_leaves(out["params"])])
    np.testing.assert_allclose([float(p[3]) for p in params], want, rtol=1e-12, atol=1e-15)
    assert float(printed[0].split()[-1]) > 0.5 and out["loss"] < 0.1  # it did train


def test_failed_allocation_is_an_error_code(tmp_path):
    # A call whose scratch block cannot be allocated (address space limited below it) returns
    # NAME_ERROR_NO_MEMORY instead of crashing; the next call, with memory, succeeds.
    n = 1 << 21
    f = lambda x: fnp.sum(fnp.sort(fnp.exp(x)) * fnp.cumsum(x))
    lib = fnad.export.c_library({"f": f}, np.ones(n), directory=tmp_path, library="big")
    scratch = int(re.search(r"uses (\d+) bytes of scratch", lib.header.read_text()).group(1))
    assert scratch > 8 * n
    source = tmp_path / "main.c"
    source.write_text(
        f"""#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include "big.h"
int main(void) {{
  double* x = malloc({n} * sizeof(double)), out;
  for (int i = 0; i < {n}; i++) x[i] = 1e-6 * i;
  long pages = 0;
  FILE* statm = fopen("/proc/self/statm", "r");
  if (!statm || fscanf(statm, "%ld", &pages) != 1) return 3;
  struct rlimit low = {{pages * 4096L + {scratch // 2}, RLIM_INFINITY}}, high = {{RLIM_INFINITY, RLIM_INFINITY}};
  setrlimit(RLIMIT_AS, &low);
  int without = f(x, &out);
  setrlimit(RLIMIT_AS, &high);
  int with = f(x, &out);
  printf("%d %d %.17g\\n", without, with, out);
  return 0;
}}
"""
    )
    exe = tmp_path / "main"
    subprocess.run(
        ["cc", "-o", exe, source, f"-I{tmp_path}", f"-L{tmp_path}", "-lbig", f"-Wl,-rpath,{tmp_path}"], check=True
    )
    without, with_memory, value = _run(exe, env={"FNAD_NUM_THREADS": "1"}).split()
    assert (without, with_memory) == ("2", "0")
    x = 1e-6 * np.arange(n)
    assert float(value) == pytest.approx(float(fnad.jit(f)(x)), rel=1e-12)


def test_code_that_needs_python_is_refused(tmp_path, monkeypatch):
    from llvmlite import ir

    import fnad_compiler.export

    # By primitive (the callbacks' names, here pretended by `sin`), also inside control flow ...
    monkeypatch.setattr(fnad_compiler.export, "PYTHON_ONLY_PRIMITIVES", frozenset({"sin"}))
    f = lambda x: lax.fori_loop(0, 3, lambda i, c: fnp.sin(c), x)
    with pytest.raises(fnad.export.ExportError, match="f: 'sin'.*calls Python.*cannot be exported"):
        fnad.export.c_library({"f": f}, np.ones(3), directory=tmp_path)
    monkeypatch.undo()
    # ... and by what the generated code calls: Python's C API, or a symbol only the process has.
    real_lower = fnad_compiler.export.lowering.lower
    for symbol in ("PyObject_CallObject", "fnad_PyArray_New"):

        def lower_calling(closed, symbol=symbol):
            program = real_lower(closed)
            ir.Function(program.main, ir.FunctionType(ir.VoidType(), []), symbol)
            return program

        monkeypatch.setattr(fnad_compiler.export.lowering, "lower", lower_calling)
        with pytest.raises(fnad.export.ExportError, match=f"calls '{symbol}', which exists only inside a Python"):
            fnad.export.c_library({"g": fnp.cos}, np.ones(3), directory=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written
