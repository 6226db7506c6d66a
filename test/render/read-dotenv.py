# Reads .env files with python-dotenv exactly as an application would (dotenv_values with its
# defaults: interpolate=True, utf-8). One path per stdin line; one JSON object per stdout line.
import json
import sys

try:
    from dotenv import dotenv_values
except ImportError:
    print(json.dumps({"error": "python-dotenv is not installed"}), flush=True)
    sys.exit(1)

for line in sys.stdin:
    path = line.rstrip("\n")
    try:
        print(json.dumps({"values": dotenv_values(path)}), flush=True)
    except Exception as error:  # report, keep serving
        print(json.dumps({"error": repr(error)}), flush=True)
