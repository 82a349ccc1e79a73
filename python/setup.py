"""Only for wheels that bundle libsdfd in sdfd/_lib/ (all metadata is in pyproject.toml).

Such a wheel contains a native library, so it must not be tagged as pure
Python ("py3-none-any"): it is tagged "py3-none-<platform>" instead. Without a
bundled library (the sdist, a checkout) the build is pure Python and the
package uses the system's libsdfd, which this build does not compile: it says
so on stderr.
"""

import glob
import os
import sys

from setuptools import Distribution, setup

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
            # Any Python 3, no ABI dependence (ctypes), but this platform only.
            _python, _abi, platform = super().get_tag()
            return "py3", "none", platform

    cmdclass["bdist_wheel"] = bdist_wheel_with_library
    setup(cmdclass=cmdclass, distclass=DistributionWithLibrary)
else:
    print(
        "sdfd: no libsdfd in sdfd/_lib/: this is a pure-Python build that uses the "
        "libsdfd installed on the system (`make install` or the sdfd .deb from the "
        "source repository, or SDFD_LIBRARY=/path/libsdfd.so.0); the binary wheels "
        "(manylinux, musllinux) carry the library instead",
        file=sys.stderr,
    )
    setup()
