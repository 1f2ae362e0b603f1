"""Hearing pages through a real screen reader: Orca 43 reading Debian Chromium under Xvfb.

Shared by the screen-reader tests (tests/screenreader/) and the real-web
report's speech level (eval_harness/realweb/speech_level.py), so both drive
Orca the same way: ``desktop`` (Xvfb, D-Bus, AT-SPI bus, Orca with captured
speech), ``orca_capture`` (the speech-server module loaded inside Orca),
``session`` (Chromium with the extension, Orca's own keys), ``atspi_probe``
(what reaches the platform layer). DESIGN.md §5 has the recipe and pitfalls.
"""
