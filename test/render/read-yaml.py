# Reads YAML files with PyYAML (YAML 1.1, SafeLoader) as a Python application would. One path
# per stdin line; one JSON object per stdout line ({"values": …} or {"error": …}).
import json
import sys

try:
    import yaml
except ImportError:
    print(json.dumps({"error": "PyYAML is not installed"}), flush=True)
    sys.exit(1)

for line in sys.stdin:
    path = line.rstrip("\n")
    try:
        with open(path, "rb") as stream:
            print(json.dumps({"values": yaml.load(stream, Loader=yaml.SafeLoader)}), flush=True)
    except Exception as error:  # report, keep serving
        print(json.dumps({"error": repr(error)[:500]}), flush=True)
