/**
 * Python's ElementTree.iterparse as the backend's XML import runs it (events start and end, the root
 * cleared after each top-level element so memory stays flat; a zip's entry read through zipfile).
 */
export const PYTHON_ITERPARSE = `
import sys, json, zipfile, xml.etree.ElementTree as ET
path = sys.argv[1]
if path.endswith(".zip"):
    z = zipfile.ZipFile(path)
    names = [n for n in z.namelist() if n.endswith("/export.xml") or n == "export.xml"]
    src = z.open(names[0])
else:
    src = path
n = 0; depth = 0; root = None
for ev, el in ET.iterparse(src, events=("start", "end")):
    if ev == "start":
        depth += 1
        if depth == 1: root = el
        elif depth == 2: n += 1
    else:
        depth -= 1
        if depth == 1: root.clear()
print(json.dumps({"elements": n}))
`;
