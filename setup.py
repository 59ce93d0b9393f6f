"""Build of the optional C accelerators; everything else is in pyproject.toml.

- ``connectors/parsers/_kvscan.c``: the FortiGate record's start and end, tokeniser and mapping-table runner;
- ``detectors/sigma/_sigscan.c``: the Sigma prefilter (event texts, Aho-Corasick search, candidate selection);
- ``detectors/sigma/_sigeval.c``: Sigma rule evaluation's field accessors (per-event memo) and string matcher;
- ``soc/storage/_rows.c``: the storage table of a run of events (Arrow buffers built per column).

``optional=True``: without a C compiler the package still installs and each uses its pure-Python twin (same
output, slower). ``tests/connectors/test_kvscan.py``, ``tests/sigma/test_sigscan.py``, ``tests/sigma/test_sigeval.py`` and
``tests/core/test_columns.py`` fail if a module is missing unless ``SOC_TEST_ALLOW_PURE_PYTHON=1``, so a broken
build does not go unnoticed in CI.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("connectors.parsers._kvscan", ["connectors/parsers/_kvscan.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"]),
                   Extension("detectors.sigma._sigscan", ["detectors/sigma/_sigscan.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"]),
                   Extension("detectors.sigma._sigeval", ["detectors/sigma/_sigeval.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"]),
                   Extension("soc.storage._rows", ["soc/storage/_rows.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"])])
