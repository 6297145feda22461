"""Installs the ebood package with a copy of the shared library beside it, so the installed package
needs no PYTHONPATH or EBOOD_LIBRARY: `make python`, or `pip install --no-build-isolation ./python`
after `make`. The library is $EBOOD_LIBRARY if set, else ../build/libebood.so; without either the
package is installed alone and loads a system-wide libebood.so.0 (`make install`)."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


def library():
    path = os.environ.get("EBOOD_LIBRARY") or os.path.join(HERE, "..", "build", "libebood.so")
    return os.path.realpath(path) if os.path.exists(path) else None


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = library()
        if lib:
            shutil.copy(lib, os.path.join(self.build_lib, "ebood", "libebood.so"))
        else:
            print("ebood: no libebood.so found (build it with `make` or set EBOOD_LIBRARY); "
                  "the package will load a system-wide libebood.so.0")


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # the wheel holds a platform-specific library
        return library() is not None


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
