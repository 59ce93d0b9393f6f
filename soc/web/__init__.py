"""The web console: server-rendered page shells (Jinja2, auto-escaped) whose data comes from the JSON API.

Pages check the session and role on the server before anything is rendered; the
JavaScript then calls ``/api/v1`` with the session cookie and the CSRF token, and
builds the DOM with ``textContent`` only, so a log line can never run script.
"""
