# -*- Python -*-
# Lit configuration for Kiln's FileCheck suites: dialect, passes, frontend,
# codegen and end-to-end tests.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".kiln", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "runtime"]

llvm_config.use_default_substitutions()  # FileCheck, not, count, ...
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# Sanitizer reports fail a test: leaks included, and the first report stops
# the program.
if config.kiln_sanitize_flags:
    config.environment["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    config.environment["LSAN_OPTIONS"] = "suppressions=" + os.path.join(
        config.kiln_src_root, "test", "lsan.supp")
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    config.environment["TSAN_OPTIONS"] = ("halt_on_error=1:second_deadlock_stack=1:suppressions="
                                          + os.path.join(config.kiln_src_root, "test", "tsan.supp"))

# `lit -D run="valgrind ..."` runs the examples' drivers under a tool
# (scripts/valgrind.sh); empty by default.
config.substitutions.append(("%run", lit_config.params.get("run", "")))

# `lit -D kilnc="<kilnc> --runtime-bitcode=<bc>"` tests another build's
# compiler with this build's runtime (scripts/hardening.sh: the e2e tests
# with the runtime under ASan and UBSan, without a sanitized compiler).
config.substitutions.append(
    ("%kilnc", lit_config.params.get("kilnc", os.path.join(config.kiln_tools_dir, "kilnc"))))
config.substitutions.append(("%kiln-opt", os.path.join(config.kiln_tools_dir, "kiln-opt")))
# Under KILN_SANITIZE the drivers link the sanitizers' runtimes, which the
# generated libraries' runtime code (built with the same flags) calls into.
config.substitutions.append(("%cc", (config.kiln_c_compiler + " " + config.kiln_sanitize_flags).strip()))
config.substitutions.append(("%cxx", (config.kiln_cxx_compiler + " " + config.kiln_sanitize_flags).strip()))
# The compiler and those flags alone, for a driver built by mpicc (whose
# OMPI_CC picks the compiler: the sanitizers' runtimes must be clang's).
config.substitutions.append(("%c_compiler", config.kiln_c_compiler))
config.substitutions.append(("%sanitize", config.kiln_sanitize_flags))
# What a program linking a generated library needs besides it (NAME.h says).
config.substitutions.append(("%kiln_libs", "-ldnnl -lgomp -lm"))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%examples", os.path.join(config.kiln_src_root, "examples")))

import subprocess


def python_has(module):
    """Whether Debian's /usr/bin/python3 imports module."""
    try:
        return subprocess.run(["/usr/bin/python3", "-c", "import " + module],
                              capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# Tests that generate their fixtures with PyTorch at run time (the full-size
# models) need Debian's python3-torch; without it they are reported as
# unsupported, with the reason in their REQUIRES line.
if python_has("torch"):
    config.available_features.add("torch")
# bench/plot.py's charts need Debian's python3-matplotlib (scripts/setup.sh).
if python_has("matplotlib"):
    config.available_features.add("matplotlib")

# What this CPU runs: tests that execute code built for a named --mcpu need it.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu_flags = set(next((l for l in cpuinfo if l.startswith("flags")), "").split())
except OSError:
    cpu_flags = set()
for flag in ("avx2", "avx512f"):
    if flag in cpu_flags:
        config.available_features.add("cpu-" + flag)

# Tests that write gigabytes (a 1 GiB weights file compiled into a library)
# run when KILN_LARGE_TESTS=1.
if os.environ.get("KILN_LARGE_TESTS") == "1":
    config.available_features.add("large-files")

# The data-parallel example (examples/ddp) needs Open MPI's mpicc and mpirun
# (Debian's libopenmpi-dev, openmpi-bin); without them test/e2e/ddp.test is
# reported as unsupported.
import shutil
if shutil.which("mpirun") and shutil.which("mpicc"):
    config.available_features.add("mpi")

# kilnc --target=cuda links CUDA's libdevice into the kernels (expf, erff):
# tests that compile for the GPU need the toolkit (/usr/local/cuda, or
# CUDA_HOME), not a GPU.
cuda_home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
if os.path.exists(os.path.join(cuda_home, "nvvm", "libdevice", "libdevice.10.bc")):
    config.available_features.add("cuda-toolkit")
# Tests that run kernels need an NVIDIA GPU with its driver (nvidia-smi lists
# one); elsewhere they are reported as unsupported.
try:
    gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    if gpus.returncode == 0 and "GPU" in gpus.stdout:
        config.available_features.add("cuda-gpu")
except (OSError, subprocess.TimeoutExpired):
    pass
