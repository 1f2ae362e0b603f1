"""Print, as JSON, the images and links AT-SPI exposes in a Chromium web document.

Run by Debian's /usr/bin/python3 (pyatspi lives there, not in the venv) with
the test desktop's DISPLAY and DBUS_SESSION_BUS_ADDRESS:

    /usr/bin/python3 atspi_probe.py "PAGE TITLE"

Output: {"document": NAME, "nodes": [{"role", "name", "description", "roledescription", "path",
"children": [{"role", "name"}]}]}
for every node whose role is image or link, in tree order; exit status 2 when
no document with that title is on the AT-SPI desktop.
"""
import json
import sys

import pyatspi

WANTED = {"image", "link"}


def documents(node, depth=0):
    if node is None or depth > 40:
        return
    try:
        role = node.getRoleName()
    except Exception:
        return
    if role == "document web":
        yield node
        return
    for child in list(node):
        yield from documents(child, depth + 1)


def walk(node, path, out, depth=0):
    if node is None or depth > 60:
        return
    role = node.getRoleName()
    if role in WANTED:
        attributes = dict(a.split(":", 1) for a in node.getAttributes() if ":" in a)
        out.append({"role": role, "name": node.name, "description": node.description,
                    "roledescription": attributes.get("roledescription", ""), "path": path,
                    "children": [{"role": c.getRoleName(), "name": c.name} for c in list(node) if c is not None]})
    for i, child in enumerate(list(node)):
        walk(child, f"{path}/{i}", out, depth + 1)


def main(title):
    desktop = pyatspi.Registry.getDesktop(0)
    for app in list(desktop):
        if app is None or "chrom" not in (app.name or "").lower():
            continue
        for doc in documents(app):
            if title in (doc.name or ""):
                nodes = []
                walk(doc, "", nodes)
                print(json.dumps({"document": doc.name, "nodes": nodes}))
                return 0
    apps = [a.name for a in list(desktop) if a is not None]
    print(json.dumps({"error": f"no document titled {title!r} on the AT-SPI desktop", "applications": apps}))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
