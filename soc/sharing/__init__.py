"""Layer 4 of the four-layer model: sharing incidents and indicators with the national monitoring centre.

- :mod:`soc.sharing.stix_export`: one STIX 2.1 bundle per incident (Incident Core Extension, TLP 2.0,
  the project's Vietnamese extension), data-minimised and with deterministic ids;
- :mod:`soc.sharing.taxii_push`: delivery to a TAXII 2.1 collection through the outbox;
- :mod:`soc.sharing.cef` and :mod:`soc.sharing.email_report`: the other channels (syslog/CEF, Form 03 by email);
- :mod:`soc.sharing.collections`: what our own read-only TAXII server publishes, per audience and TLP.
"""
