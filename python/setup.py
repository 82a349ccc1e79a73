"""Only for wheels that bundle libsdfd in sdfd/_lib/ (all metadata is in pyproject.toml).

Such a wheel contains a native library, and with it the extension module
sdfd._native (python/src/_native.c: CPython's limited API, linked against the
bundled library, found at run time through RUNPATH=$ORIGIN/_lib), which
sdfd.daemon uses instead of ctypes. It is tagged "cp38-abi3-<platform>": any
CPython >= 3.8, this platform only. The compiler is $CC / $LDSHARED as usual
(packaging/wheel.sh sets musl-gcc for the musllinux wheel). Without a
bundled library (the sdist, a checkout) the build is pure Python and the
package uses the system's libsdfd, which this build does not compile: it says
so on stderr.
"""

import glob
import os
import sys

from setuptools import Distribution, Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED = bool(glob.glob(os.path.join(HERE, "sdfd", "_lib", "libsdfd.so*")))

cmdclass = {}
try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    try:
        from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]
    except ImportError:
        bdist_wheel = None


class DistributionWithLibrary(Distribution):
    """A platform-specific distribution (files go to platlib, the wheel is not pure)."""

    def has_ext_modules(self):
        return True


if BUNDLED and bdist_wheel is not None:

    class bdist_wheel_with_library(bdist_wheel):  # noqa: N801 - setuptools command naming
        def get_tag(self):
            # The limited API of CPython 3.8 (abi3), this platform only.
            _python, _abi, platform = super().get_tag()
            return "cp38", "abi3", platform

    native = Extension(
        "sdfd._native",
        sources=["src/_native.c"],
        include_dirs=["../include"],  # sdfd.h in a checkout (a build copy has it in src/)
        py_limited_api=True,
        define_macros=[("Py_LIMITED_API", "0x03080000")],
        extra_compile_args=["-O2"],
        # The bundled library itself (its soname, libsdfd.so.0, becomes DT_NEEDED).
        extra_link_args=["sdfd/_lib/libsdfd.so.0", "-Wl,-rpath,$ORIGIN/_lib", "-Wl,--enable-new-dtags"],
    )
    cmdclass["bdist_wheel"] = bdist_wheel_with_library
    setup(cmdclass=cmdclass, distclass=DistributionWithLibrary, ext_modules=[native])
else:
    print(
        "sdfd: no libsdfd in sdfd/_lib/: this is a pure-Python build that uses the "
        "libsdfd installed on the system (`make install` or the sdfd .deb from the "
        "source repository, or SDFD_LIBRARY=/path/libsdfd.so.0); the binary wheels "
        "(manylinux, musllinux) carry the library instead",
        file=sys.stderr,
    )
    setup()
