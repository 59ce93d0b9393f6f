"""Sigma detection: rule loading, compilation to fast matchers, streaming engine, correlations.

Public API (used by the pipeline and the CLI)::

    from detectors.sigma import SigmaEngine, load_rules
    engine = SigmaEngine.from_paths(["rules"], lateness_seconds=60, max_state=200_000,
                                    state_path=None, ignore_logsource=False, field_mapping=True)
"""

from .engine import SigmaEngine
from .loader import RuleError, RuleSet, load_rules

__all__ = ["RuleError", "RuleSet", "SigmaEngine", "load_rules"]
