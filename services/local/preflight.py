"""First step of `make test`: make sure Java and Maven are there and Kafka's jars are cached.

With CI=true a missing tool is a failure; on a developer's machine it is a warning and the tests
that need Kafka are skipped with the same message.
"""

import os
import sys

from services.local.kafka import INSTALL_HINT, ensure_jars, missing_tools


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    missing = missing_tools()
    if missing:
        print(f"preflight: missing {', '.join(missing)}. {INSTALL_HINT}", file=sys.stderr)
        return 1 if in_ci else 0
    lib = ensure_jars()
    print(f"preflight: Java and Maven found; Kafka jars cached in {lib}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
