"""The demo dataset: generator (``generate.py``) and the network it describes (``topology.py``)."""
