"""Build of the optional C tokeniser (``connectors/parsers/_kvscan.c``); everything else is in pyproject.toml.

``optional=True``: without a C compiler the package still installs and FortiGate parsing uses its
pure-Python tokeniser (same output, slower). ``tests/connectors/test_kvscan.py`` fails if the module is
missing unless ``SOC_ALLOW_PURE_PYTHON=1``, so a broken build does not go unnoticed in CI.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("connectors.parsers._kvscan", ["connectors/parsers/_kvscan.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"])])
