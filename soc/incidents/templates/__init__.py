"""Package templates (forms, assessor report); a package so that setuptools ships the files."""
